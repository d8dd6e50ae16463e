"""Write a value into a file syntax without changing the meaning of the file (issue #10).

The second layer after ``esms-baseline validate`` (``esms_baseline/profile/text.py``): a
library user, a host variable or an inventory can still hand the roles any value, so every
value a template writes into a syntax goes through one of these filters, which either
encode it for that syntax or fail the task (``AnsibleFilterError``, a clear message naming
the variable). Nothing here trusts the profile's validation. docs/trust.md lists which
filter guards which file.

- ``esms_single_line(name)``: text with no control character (C0 incl. tab and line
  feed, DEL, C1, U+2028/2029) and at most 1024 characters; for comments and one-line
  values of sshd_config, ssh_config, apt.conf, restic/clamscan file lists.
- ``esms_multiline(name)``: line breaks and tabs allowed, no other control character
  (terminal escapes), at most 8192 characters; for /etc/issue and /etc/issue.net.
- ``esms_systemd_env(name)``: a double-quoted value of a systemd EnvironmentFile: ``\\``,
  ``"``, ``$`` and a backquote escaped with a backslash (systemd.exec(5), "EnvironmentFile=").
- ``esms_systemd_text(name)``: a one-line value of a unit file, ``%`` doubled (specifiers,
  systemd.unit(5)).
- ``esms_nft_cidr(name)``: an address block Python's ipaddress accepts, of hex digits,
  '.', ':' and '/' only (nothing else can reach the ruleset); ``esms_nft_port(name)``: an integer 1-65535.
- ``esms_choice(choices, name)``: one of a fixed list of words.
- ``esms_hhmm(name)``: a time HH:MM (for OnCalendar=).
- ``esms_abs_path(name)``: an absolute one-line path.
- ``esms_sftp(name)``: the user, host, port of an SFTP restic repository, each matching the
  grammar ssh_config takes unquoted, or ``{}`` for a repository that is not SFTP.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import Any

from ansible.errors import AnsibleFilterError

MAX_SINGLE_LINE = 1024
MAX_MULTILINE = 8192
_SEPARATORS = {"\u2028", "\u2029", "\u0085"}
_USER = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}"
_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})"
_SFTP_SHORT = re.compile(rf"sftp:(?!//)(?:(?P<user>{_USER})@)?(?P<host>{_HOST}):(?P<path>\S.*)")
_SFTP_URL = re.compile(
    rf"sftp://(?:(?P<user>{_USER})@)?(?P<host>{_HOST})(?::(?P<port>[0-9]{{1,5}}))?/(?P<path>.*)")
_HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


def _fail(name: str, why: str) -> AnsibleFilterError:
    return AnsibleFilterError(f"esms-baseline: {name} {why}: refused, it would change the "
                              "meaning of the generated file (see docs/trust.md)")


def _text(value: Any, name: str, *, multiline: bool, limit: int) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _fail(name, f"must be text, not {type(value).__name__}")
    text = str(value)
    for ch in text:
        if multiline and ch in "\n\t":
            continue
        if ch in _SEPARATORS or unicodedata.category(ch) == "Cc":
            raise _fail(name, f"holds the control character U+{ord(ch):04X}")
    if len(text) > limit:
        raise _fail(name, f"is {len(text)} characters long (at most {limit})")
    return text


def esms_single_line(value: Any, name: str = "a value") -> str:
    return _text(value, name, multiline=False, limit=MAX_SINGLE_LINE)


def esms_multiline(value: Any, name: str = "a value") -> str:
    return _text(value, name, multiline=True, limit=MAX_MULTILINE)


def esms_systemd_env(value: Any, name: str = "a value") -> str:
    text = esms_single_line(value, name)
    return '"' + re.sub(r'([\\"$`])', r"\\\1", text) + '"'


def esms_systemd_text(value: Any, name: str = "a value") -> str:
    return esms_single_line(value, name).replace("%", "%%")


def esms_nft_cidr(value: Any, name: str = "an address block") -> str:
    text = esms_single_line(value, name)
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise _fail(name, f"is not an address block ({text[:60]!r})") from None
    if not re.fullmatch(r"[0-9A-Fa-f.:/]+", text):
        raise _fail(name, f"is not an address block ({text[:60]!r})")
    return text  # as given (valid, and made of hex digits, '.', ':', '/' only)


def esms_nft_port(value: Any, name: str = "a port") -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        raise _fail(name, "must be a port number")
    port = int(value)
    if not 1 <= port <= 65535:
        raise _fail(name, f"must be a port 1-65535, not {port}")
    return port


def esms_choice(value: Any, choices: list[str], name: str = "a value") -> str:
    text = esms_single_line(value, name)
    if text not in choices:
        raise _fail(name, f"must be one of {', '.join(choices)}, not {text[:60]!r}")
    return text


def esms_hhmm(value: Any, name: str = "a time") -> str:
    text = esms_single_line(value, name)
    if not _HHMM.fullmatch(text):
        raise _fail(name, f"must be a time HH:MM, not {text[:60]!r}")
    return text


def esms_abs_path(value: Any, name: str = "a path") -> str:
    text = esms_single_line(value, name)
    if not text.startswith("/"):
        raise _fail(name, f"must be an absolute path, not {text[:60]!r}")
    return text


def esms_sftp(value: Any, name: str = "the repository") -> dict[str, str]:
    text = esms_single_line(value, name)
    if not text.startswith("sftp:"):
        return {}
    m = _SFTP_SHORT.fullmatch(text) or _SFTP_URL.fullmatch(text)
    if not m:
        raise _fail(name, "is not sftp:USER@HOST:/PATH or sftp://USER@HOST:PORT//PATH with a "
                          "user and host of letters, digits, '.', '-', '_'")
    parts = m.groupdict()
    return {"user": parts.get("user") or "", "host": parts["host"], "port": parts.get("port") or ""}


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {f.__name__: f for f in (
            esms_single_line, esms_multiline, esms_systemd_env, esms_systemd_text,
            esms_nft_cidr, esms_nft_port, esms_choice, esms_hhmm, esms_abs_path, esms_sftp)}
