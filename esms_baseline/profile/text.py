"""Text in a profile never changes the meaning of what is generated from it.

The roles write profile values into many syntaxes (sshd_config, systemd units and
environment files, ssh_config, nftables, apt.conf, shell, /etc/issue, restic's file lists):
in all of them a line break, and in several a tab or another control character, starts a
new directive. So, before anything else uses the document:

- every single-line text (every text field and every mapping key, except the multi-line
  texts of :data:`MULTILINE`) refuses control characters (C0 including tab and line feed,
  DEL, C1) and the Unicode line and paragraph separators, and is at most
  :data:`MAX_SINGLE_LINE` characters long;
- a multi-line text (the banner text, an exception's reason, a group's description) may
  hold line breaks and tabs but no other control character, and is at most
  :data:`MAX_MULTILINE` characters long; each target format encodes it (``/etc/issue``
  escapes backslashes for agetty);
- a few fields that end up inside a syntax get the grammar of that syntax: an SFTP
  ``backup.repository`` (its user and host become ``User``/``Host`` lines of root's SSH
  configuration), a user's ``full_name`` (the GECOS field of ``/etc/passwd``: no ``:``).

Schema patterns are anchored at the real end of the text (see
:mod:`esms_baseline.profile.schema`): Python's ``$`` also matches before a final line
break, ECMA-262's (the JSON Schema dialect) does not.

This is the first layer; the second is in the roles (``playbooks/filter_plugins/esms_text.py``)
and the plan, for library users and inventories that bypass ``validate``: docs/trust.md.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from esms_baseline.errors import Problem
from esms_baseline.profile.yamlpos import Document, JsonPath

#: Longest single-line text (a path, a name, a repository URL).
MAX_SINGLE_LINE = 1024
#: Longest multi-line text (a banner).
MAX_MULTILINE = 8192

#: Fields that are multi-line texts ("*" matches any key or index).
MULTILINE: tuple[tuple[str, ...], ...] = (
    ("banner", "text"),
    ("exceptions", "*", "reason"),
    ("inventory", "groups", "*", "description"),
)

_MULTILINE_OK = {"\n", "\t"}
_SEPARATORS = {"\u2028", "\u2029", "\u0085"}

#: restic's two SFTP forms; user and host as ssh_config can take them unquoted.
_USER = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}"
_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})"
SFTP_SHORT = re.compile(rf"sftp:(?!//)(?:(?P<user>{_USER})@)?(?P<host>{_HOST}):(?P<path>\S.*)")
SFTP_URL = re.compile(
    rf"sftp://(?:(?P<user>{_USER})@)?(?P<host>{_HOST})(?::(?P<port>[0-9]{{1,5}}))?/(?P<path>.*)"
)


def bad_char(text: str, *, multiline: bool = False) -> str | None:
    """The first character of ``text`` that a single-line (or multi-line) text may not
    hold, else None."""
    for ch in text:
        if multiline and ch in _MULTILINE_OK:
            continue
        if ch in _SEPARATORS or unicodedata.category(ch) == "Cc":
            return ch
    return None


def describe_char(ch: str) -> str:
    names = {"\n": "a line break (\\n)", "\r": "a carriage return (\\r)", "\t": "a tab (\\t)",
             "\x00": "a NUL character"}
    return names.get(ch, f"the control character U+{ord(ch):04X}")


def is_multiline(path: JsonPath) -> bool:
    return any(
        len(p) == len(path) and all(a == "*" or a == b for a, b in zip(p, path, strict=True))
        for p in MULTILINE
    )


def check_text(doc: Document) -> list[Problem]:
    """Every text of ``doc`` that could change the meaning of a generated file."""
    problems: list[Problem] = []
    for path, text, is_key in _texts(doc.data, ()):
        multi = not is_key and is_multiline(path)
        ch = bad_char(text, multiline=multi)
        what = "a key" if is_key else ("a multi-line text" if multi else "a single-line text")
        if ch is not None:
            allowed = " (line breaks and tabs are allowed here, nothing else)" if multi else ""
            problems.append(doc.problem(
                path, f"{describe_char(ch)} in {what}: it would change the meaning of the files "
                      f"generated from it{allowed}", key=is_key))
            continue
        limit = MAX_MULTILINE if multi else MAX_SINGLE_LINE
        if len(text) > limit:
            problems.append(doc.problem(
                path, f"{what} of {len(text)} characters: at most {limit}", key=is_key))
    problems += _grammars(doc)
    return problems


def _texts(value: Any, path: JsonPath) -> Iterator[tuple[JsonPath, str, bool]]:
    if isinstance(value, str):
        yield path, value, False
    elif isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str):
                yield (*path, k), k, True
            yield from _texts(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _texts(v, (*path, i))


def sftp_repository_problem(repository: str) -> str | None:
    """Why an SFTP repository cannot be written into ssh_config as is, else None."""
    if not repository.startswith("sftp:"):
        return None
    if SFTP_SHORT.fullmatch(repository) or SFTP_URL.fullmatch(repository):
        return None
    return ("an SFTP repository is sftp:USER@HOST:/PATH or sftp://USER@HOST:PORT//PATH, the "
            "user and host made of letters, digits, '.', '-' and '_' (they are written into "
            "root's SSH configuration)")


def _grammars(doc: Document) -> list[Problem]:
    out: list[Problem] = []
    data = doc.data if isinstance(doc.data, dict) else {}
    backup = data.get("backup")
    if isinstance(backup, dict) and isinstance(backup.get("repository"), str):
        why = sftp_repository_problem(backup["repository"])
        if why and bad_char(backup["repository"]) is None:
            out.append(doc.problem(("backup", "repository"), why, key=False))
    accounts = data.get("accounts")
    users = accounts.get("users") if isinstance(accounts, dict) else None
    for i, user in enumerate(users if isinstance(users, list) else []):
        name = user.get("full_name") if isinstance(user, dict) else None
        if isinstance(name, str) and ":" in name:
            out.append(doc.problem(("accounts", "users", i, "full_name"),
                                   "a full name cannot hold ':' (the field separator of "
                                   "/etc/passwd)", key=False))
    return out


#: Role variables that are multi-line texts (the banner; Windows' desired state carries it).
MULTILINE_VARS = frozenset({"esms_banner_text", "esms_windows_desired"})


def variable_problems(host: str, variables: dict[str, Any]) -> list[str]:
    """The plan's check of the role variables of ``host`` (for a library user who built the
    profile without ``validate``): the same characters refused as by :func:`check_text`,
    so that nothing runs at all, rather than a task failing half-way through a host."""
    problems: list[str] = []
    for name, value in variables.items():
        multi = name in MULTILINE_VARS
        for path, text, _ in _texts(value, (name,)):
            ch = bad_char(text, multiline=multi)
            limit = MAX_MULTILINE if multi else MAX_SINGLE_LINE
            if ch is not None or len(text) > limit:
                where = "".join(f"[{p!r}]" for p in path[1:])
                why = describe_char(ch) if ch is not None else f"{len(text)} characters"
                problems.append(f"{host}: {name}{where} holds {why}: refused, it would change "
                                "the meaning of the files generated from it")
    repo = variables.get("esms_backup_repository")
    why_repo = sftp_repository_problem(repo) if isinstance(repo, str) else None
    if why_repo and bad_char(str(repo)) is None:
        problems.append(f"{host}: esms_backup_repository: {why_repo}")
    return problems
