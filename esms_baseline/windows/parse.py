"""Parsers of what a Windows host reports, in the formats Windows really produces.

- ``secedit /export /cfg FILE``: an INF file in UTF-16 LE with a BOM (``parse_secedit_inf``);
- the local account policy as ADSI reports it (``[ADSI]"WinNT://<computer>"``: numbers,
  independent of the display language) (``parse_adsi_policy``); the collector no longer runs
  ``net accounts`` (localised labels and line order), whose parser ``parse_net_accounts`` is
  kept for text an MSP pastes;
- console output in the OEM code page of the host's language (437 English, 850 French...)
  (``decode_console``);
- ``Get-NetFirewallProfile | ConvertTo-Json``, ``Get-MpComputerStatus | ConvertTo-Json``:
  enums as numbers (Windows PowerShell 5.1) or names, dates as ``/Date(ms)/`` or ISO 8601
  (``parse_firewall_profiles``, ``parse_mp_status``, ``parse_ps_datetime``);
- firewall rule filters as Windows prints them (``203.0.113.0/255.255.255.0``, ``Any``,
  ``LocalSubnet``, port lists and ranges) (``parse_addresses``, ``parse_ports``).

Pure functions, no I/O: unit-tested on samples in tests/data/windows/.
"""

from __future__ import annotations

import codecs
import datetime as _dt
import ipaddress
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from esms_baseline.errors import EsmsError


class ParseError(EsmsError):
    """A Windows output is not in the expected format."""


# ------------------------------------------------------------------------ text


def decode_text(data: bytes | str) -> str:
    """Text of a Windows file or output: UTF-16 (BOM or NUL pattern), UTF-8 (BOM or not),
    else Windows-1252."""
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    if data.startswith(codecs.BOM_UTF16_LE):
        return data[2:].decode("utf-16-le")
    if data.startswith(codecs.BOM_UTF16_BE):
        return data[2:].decode("utf-16-be")
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8")
    if len(data) >= 4 and data[1] == 0 and data[3] == 0:
        return data.decode("utf-16-le")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def decode_console(data: bytes | str, codepage: int | None = None) -> str:
    """Text a Windows console program printed, as WinRM returns its bytes: UTF-16/UTF-8 when
    marked or valid, else the console's OEM code page (``[Console]::OutputEncoding``, 850 on
    a French Windows, 437 on an English one; cp850 when unknown: the Western European one,
    which decodes every byte)."""
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF8)) or (
            len(data) >= 4 and data[1] == 0 and data[3] == 0):
        return decode_text(data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode(f"cp{codepage}" if codepage else "cp850")
    except (LookupError, UnicodeDecodeError):
        return data.decode("cp850", errors="replace")


# ------------------------------------------------------------------------ secedit


def parse_secedit_inf(data: bytes | str) -> dict[str, dict[str, str]]:
    """Sections of a secedit export: ``{"System Access": {"MinimumPasswordLength": "8"}}``.

    Keys keep their case; values are stripped (quotes kept: ``NewGuestName = "Invité"``)."""
    text = decode_text(data)
    out: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = out.setdefault(line[1:-1].strip(), {})
            continue
        if current is None or "=" not in line:
            continue
        key, _, value = line.partition("=")
        current[key.strip()] = value.strip()
    if not out:
        raise ParseError("not a secedit export: no [section]")
    return out


def system_access(data: bytes | str) -> dict[str, int | str]:
    """The ``[System Access]`` section with integer values where they are integers."""
    inf = parse_secedit_inf(data)
    section = inf.get("System Access")
    if section is None:
        raise ParseError("secedit export has no [System Access] section")
    out: dict[str, int | str] = {}
    for k, v in section.items():
        out[k] = int(v) if re.fullmatch(r"-?\d+", v) else v.strip('"')
    return out


#: secedit writes "account locked until an administrator unlocks it" (LockoutDuration 0 in the
#: policy UI and in Microsoft Learn "Account lockout duration",
#: https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-10/security/threat-protection/security-policy-settings/account-lockout-duration)
#: as -1 in its export (secedit /export:
#: https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/secedit-export).
SECEDIT_UNTIL_ADMIN_UNLOCKS = -1


def lockout_duration_minutes(value: int | None) -> int | None:
    """A secedit ``LockoutDuration`` as the policy means it: 0 = until an administrator
    unlocks (exported as -1), else minutes."""
    if value is None:
        return None
    return 0 if value == SECEDIT_UNTIL_ADMIN_UNLOCKS else value


# ------------------------------------------------------------------------ ADSI


#: "Forever" in the account policy (TIMEQ_FOREVER, 0xFFFFFFFF), as ADSI may return it.
_FOREVER = (2**32 - 1, -1)


@dataclass(frozen=True)
class AdsiPolicy:
    """Local account policy from the WinNT provider's domain object (IADsDomain properties,
    https://learn.microsoft.com/en-us/windows/win32/api/iads/nn-iads-iadsdomain and the
    WinNT schema's Domain class): seconds and counts, whatever the display language."""

    min_length: int | None
    history: int | None
    max_age_days: int | None  # None = never expires
    min_age_days: int | None
    lockout_threshold: int | None
    lockout_duration_minutes: int | None  # 0 = until an administrator unlocks
    lockout_window_minutes: int | None


def _num(d: Mapping[str, Any], key: str) -> int | None:
    v = d.get(key)
    if isinstance(v, bool) or v is None:
        return None
    try:
        return int(v)
    except (TypeError, ValueError):
        raise ParseError(f"ADSI {key} = {v!r} is not a number") from None


def parse_adsi_policy(d: Mapping[str, Any]) -> AdsiPolicy:
    """The collector's ``adsi_policy`` section: MinPasswordLength, PasswordHistoryLength,
    MaxPasswordAge / MinPasswordAge (seconds), MaxBadPasswordsAllowed, AutoUnlockInterval /
    LockoutObservationInterval (seconds)."""
    if not isinstance(d, Mapping) or "MinPasswordLength" not in d:
        raise ParseError("not the ADSI account policy")
    max_age = _num(d, "MaxPasswordAge")
    unlock = _num(d, "AutoUnlockInterval")
    window = _num(d, "LockoutObservationInterval")
    min_age = _num(d, "MinPasswordAge")
    return AdsiPolicy(
        min_length=_num(d, "MinPasswordLength"),
        history=_num(d, "PasswordHistoryLength"),
        max_age_days=None if max_age is None or max_age in _FOREVER else max_age // 86400,
        min_age_days=None if min_age is None else min_age // 86400,
        lockout_threshold=_num(d, "MaxBadPasswordsAllowed"),
        lockout_duration_minutes=(None if unlock is None else 0 if unlock in _FOREVER
                                  else unlock // 60),
        lockout_window_minutes=None if window is None else window // 60,
    )


# ------------------------------------------------------------------------ net accounts


@dataclass(frozen=True)
class NetAccounts:
    """``net accounts`` values; None = "never"/"unlimited" where Windows prints a word."""

    force_logoff_minutes: int | None
    min_age_days: int | None
    max_age_days: int | None
    min_length: int | None
    history: int | None
    lockout_threshold: int | None
    lockout_duration_minutes: int | None
    lockout_window_minutes: int | None
    computer_role: str
    language: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "min_length": self.min_length,
            "lockout_threshold": self.lockout_threshold,
            "lockout_duration_minutes": self.lockout_duration_minutes,
            "lockout_window_minutes": self.lockout_window_minutes,
            "max_age_days": "unlimited" if self.max_age_days is None else self.max_age_days,
            "min_age_days": self.min_age_days,
            "history": self.history,
            "computer_role": self.computer_role,
        }


_FIELDS = ("force_logoff", "min_age", "max_age", "min_length", "history", "threshold",
           "duration", "window", "role")
_NEVER = ("never", "jamais")
_NONE = ("none", "aucun", "aucune")
_UNLIMITED = ("unlimited", "illimit")


def _fold(text: str) -> str:
    """Lower case without accents (mis-decoded accents become other characters: labels are
    matched on words without accented letters)."""
    norm = unicodedata.normalize("NFKD", text)
    return "".join(c for c in norm if not unicodedata.combining(c)).lower()


def _field_of(label: str) -> tuple[str | None, str]:
    low = _fold(label)
    rules: tuple[tuple[str, tuple[str, ...], str], ...] = (
        ("force_logoff", ("logoff",), "en"), ("force_logoff", ("fermeture",), "fr"),
        ("min_age", ("minimum password age",), "en"), ("min_age", ("vie", "minimale"), "fr"),
        ("max_age", ("maximum password age",), "en"), ("max_age", ("vie", "maximale"), "fr"),
        ("min_length", ("password length",), "en"), ("min_length", ("longueur",), "fr"),
        ("history", ("history",), "en"), ("history", ("historique",), "fr"),
        ("history", ("moris",), "fr"),
        ("threshold", ("lockout threshold",), "en"), ("threshold", ("seuil",), "fr"),
        ("window", ("observation window",), "en"), ("window", ("observation",), "fr"),
        ("duration", ("lockout duration",), "en"), ("duration", ("verrouillage",), "fr"),
        ("role", ("computer role",), "en"), ("role", ("ordinateur",), "fr"),
    )
    for name, words, lang in rules:
        if all(w in low for w in words):
            return name, lang
    return None, "unknown"


def _net_value(value: str) -> int | None | str:
    v = _fold(value.strip())
    if re.fullmatch(r"\d+", v):
        return int(v)
    if any(v.startswith(w) for w in _NEVER + _UNLIMITED):
        return None
    if any(v.startswith(w) for w in _NONE):
        return 0
    return value.strip()


_LINE = re.compile(r"^(?P<label>[^:]*?\S)\s*:\s+(?P<value>\S.*?)\s*$")


def parse_net_accounts(text: bytes | str) -> NetAccounts:
    """Parse ``net accounts`` (English, French; any other language by line order)."""
    lines = []
    for raw in decode_text(text).splitlines():
        m = _LINE.match(raw.strip())
        if m:
            lines.append((m.group("label"), m.group("value")))
    if len(lines) < len(_FIELDS):
        raise ParseError(f"net accounts: {len(lines)} 'label: value' lines, expected {len(_FIELDS)}")
    found: dict[str, Any] = {}
    langs: set[str] = set()
    for label, value in lines:
        name, lang = _field_of(label)
        if name is None or name in found:
            continue
        found[name] = value
        langs.add(lang)
    if len(found) < len(_FIELDS):
        # unknown language: Windows always prints the nine lines in the same order
        found = {name: value for name, (_, value) in zip(_FIELDS, lines, strict=False)}
        langs = {"unknown"}

    unknown = langs == {"unknown"}

    def num(name: str, zero_word_is: int | None = None) -> int | None:
        v = _net_value(found[name])
        if isinstance(v, str):
            if not unknown:
                raise ParseError(f"net accounts: {name} = {found[name]!r} is not a number")
            v = None  # a word in an unknown language: "never", "none", "unlimited"
        if v is None and zero_word_is is not None:
            return zero_word_is
        return v

    return NetAccounts(
        force_logoff_minutes=num("force_logoff"),
        min_age_days=num("min_age"),
        max_age_days=num("max_age"),
        min_length=num("min_length"),
        history=num("history", zero_word_is=0),
        # "Never" for the threshold means no lockout: 0
        lockout_threshold=num("threshold", zero_word_is=0),
        lockout_duration_minutes=num("duration"),
        lockout_window_minutes=num("window"),
        computer_role=str(found["role"]).strip(),
        language=langs.pop() if len(langs) == 1 else "mixed",
    )


# ------------------------------------------------------------------------ PowerShell JSON


def parse_ps_json(text: str | bytes | None) -> Any:
    """JSON printed by ``ConvertTo-Json`` (BOM tolerated); None for empty output."""
    if text is None:
        return None
    s = decode_text(text).strip()
    if not s:
        return None
    try:
        return json.loads(s)
    except ValueError as exc:
        raise ParseError(f"not JSON: {exc}") from exc


def as_list(value: Any) -> list[Any]:
    """ConvertTo-Json prints one object for one item and an array for several."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def parse_ps_datetime(value: Any) -> _dt.datetime | None:
    """A date as PowerShell serialises it: ``/Date(1700000000000)/`` (5.1), ISO 8601 (7.x,
    7 fractional digits), or the ``{"value": ..., "DateTime": ...}`` wrapper. Aware (UTC when
    no offset is given)."""
    if value is None or value == "":
        return None
    if isinstance(value, Mapping):
        return parse_ps_datetime(value.get("value"))
    s = str(value).strip()
    m = _MS_DATE.match(s.replace("\\/", "/"))
    if m:
        return _dt.datetime.fromtimestamp(int(m.group(1)) / 1000, tz=_dt.UTC)
    iso = re.sub(r"(\.\d{6})\d+", r"\1", s).replace("Z", "+00:00")
    try:
        d = _dt.datetime.fromisoformat(iso)
    except ValueError as exc:
        raise ParseError(f"not a PowerShell date: {s!r}") from exc
    return d if d.tzinfo else d.replace(tzinfo=_dt.UTC)


# NetSecurity enums as Windows PowerShell 5.1 prints them (numbers).
_GPO_BOOLEAN = {0: "False", 1: "True", 2: "NotConfigured"}
_ACTION = {0: "NotConfigured", 2: "Allow", 4: "Block"}


def _enum(value: Any, table: Mapping[int, str]) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return table.get(value, str(value))
    return str(value)


@dataclass(frozen=True)
class FirewallProfile:
    name: str
    enabled: str  # True | False | NotConfigured
    inbound: str  # Block | Allow | NotConfigured
    outbound: str


def parse_firewall_profiles(text: str | bytes) -> dict[str, FirewallProfile]:
    """``Get-NetFirewallProfile | Select-Object Name, Enabled, DefaultInboundAction,
    DefaultOutboundAction | ConvertTo-Json``; profile name -> FirewallProfile."""
    out: dict[str, FirewallProfile] = {}
    for p in as_list(parse_ps_json(text)):
        if not isinstance(p, Mapping) or "Name" not in p:
            raise ParseError(f"not a firewall profile: {p!r}")
        out[str(p["Name"])] = FirewallProfile(
            name=str(p["Name"]),
            enabled=_enum(p.get("Enabled"), _GPO_BOOLEAN),
            inbound=_enum(p.get("DefaultInboundAction"), _ACTION),
            outbound=_enum(p.get("DefaultOutboundAction"), _ACTION),
        )
    return out


@dataclass(frozen=True)
class DefenderStatus:
    am_service_enabled: bool
    antivirus_enabled: bool
    realtime_enabled: bool
    signature_last_updated: _dt.datetime | None
    signature_age_days: int | None
    signature_version: str
    running_mode: str
    tamper_protected: bool | None

    def signature_age_hours(self, now: _dt.datetime) -> float | None:
        if self.signature_last_updated is None:
            return None
        return (now - self.signature_last_updated).total_seconds() / 3600


def parse_mp_status(text: str | bytes) -> DefenderStatus:
    """``Get-MpComputerStatus | ConvertTo-Json`` (Windows PowerShell 5.1 or 7)."""
    d = parse_ps_json(text)
    if isinstance(d, list):
        d = d[0] if d else None
    if not isinstance(d, Mapping) or "AMServiceEnabled" not in d:
        raise ParseError("not Get-MpComputerStatus output")
    age = d.get("AntivirusSignatureAge")
    tamper = d.get("IsTamperProtected")
    return DefenderStatus(
        am_service_enabled=bool(d.get("AMServiceEnabled")),
        antivirus_enabled=bool(d.get("AntivirusEnabled")),
        realtime_enabled=bool(d.get("RealTimeProtectionEnabled")),
        signature_last_updated=parse_ps_datetime(d.get("AntivirusSignatureLastUpdated")),
        # 4294967295 (uint32 max) means "never updated"
        signature_age_days=int(age) if isinstance(age, int) and age < 2**32 - 1 else None,
        signature_version=str(d.get("AntivirusSignatureVersion") or ""),
        running_mode=str(d.get("AMRunningMode") or ""),
        tamper_protected=bool(tamper) if tamper is not None else None,
    )


# ------------------------------------------------------------------------ firewall filters

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_addresses(value: Any) -> tuple[str, ...] | None:
    """RemoteAddress of a rule as CIDR strings; None = any. Keywords (``LocalSubnet``,
    ``Internet``...) and ranges (``a-b``) are kept as written."""
    items = [str(v).strip() for v in as_list(value) if str(v).strip()]
    if not items or any(i.lower() == "any" or i == "*" for i in items):
        return None
    out: list[str] = []
    for i in items:
        try:
            out.append(str(ipaddress.ip_network(i, strict=False)))
        except ValueError:
            out.append(i)
    return tuple(sorted(set(out)))


def parse_ports(value: Any) -> frozenset[int] | None:
    """LocalPort of a rule: set of ports; None = any port; keywords (``RPC``, ``IPHTTPSIn``)
    give an empty set (they match no fixed port)."""
    items = [str(v).strip() for v in as_list(value) if str(v).strip()]
    if not items or any(i.lower() == "any" for i in items):
        return None
    ports: set[int] = set()
    for i in items:
        for part in i.split(","):
            part = part.strip()
            if re.fullmatch(r"\d+", part):
                ports.add(int(part))
            elif re.fullmatch(r"\d+-\d+", part):
                lo, hi = (int(x) for x in part.split("-"))
                ports.update(range(lo, hi + 1))
    return frozenset(ports)


def parse_protocol(value: Any) -> str:
    """``TCP``/``6`` -> tcp, ``UDP``/``17`` -> udp, ``Any`` -> any, others lower case."""
    s = str(value or "Any").strip().lower()
    return {"6": "tcp", "17": "udp", "tcp": "tcp", "udp": "udp", "any": "any"}.get(s, s)
