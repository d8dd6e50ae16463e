"""Providers' access (ESMS-PRV-01..03), Debian rules.

- PRV-01: each provider account the profile gives this host exists, expires on the day its
  access ends (shadow field 8, ``chage -E``) and, once that day is past, is locked
  (password locked AND expired: an expired account is refused by PAM even with an SSH key);
- PRV-02: remote-control software found on the host (package, unit file or listening port)
  is declared for this host by a provider; else the control fails naming it;
- PRV-03: remote access leaves a lasting trace: sshd ``LogLevel VERBOSE`` (it logs the key
  fingerprint of each login), a persistent journal kept at least the profile's days.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from typing import Any

from esms_baseline.conformance.model import Outcome
from esms_baseline.conformance.rules._util import section, span_seconds, var

#: sshd log levels that log the key used for each login (sshd_config(5): VERBOSE and above)
VERBOSE_LEVELS = frozenset({"VERBOSE", "DEBUG", "DEBUG1", "DEBUG2", "DEBUG3"})
#: tools detected by their port only, satisfied by any declared tool of the family
_PORT_FAMILIES = {"vnc": {"x11vnc", "tigervnc", "tightvnc", "realvnc", "vnc"}}
_EPOCH = _dt.date(1970, 1, 1)


def _day(raw: Any) -> _dt.date:
    return raw if isinstance(raw, _dt.date) else _dt.date.fromisoformat(str(raw))


def prv_01(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    wanted = list(var(variables, "esms_providers_accounts", []))
    if not wanted:
        return Outcome.not_applicable("no provider account is declared for this host")
    acc = section(facts, "accounts")
    users = acc.get("users") or {}
    today_days = int(acc.get("today_days") or 0)
    problems: list[str] = []
    found: dict[str, Any] = {}
    expected: dict[str, Any] = {}
    for a in wanted:
        login = str(a["login"])
        until = _day(a["access_until"])
        reaches = a.get("reaches", True) is not False
        # the account expires the day after the last day of access: pam_unix refuses an
        # account on its expiry day (shadow(5) field 8); on a host its provider does not
        # reach, it is expired since 1970-01-02 (the role's expiry) and locked
        expiry_days = (until - _EPOCH).days + 1 if reaches else 1
        expired = expiry_days <= today_days
        # (9999-12-31 has no next day; validate refuses accesses more than 10 years away)
        expiry = (until + _dt.timedelta(days=1)).isoformat() if until < _dt.date.max else "never"
        expected[login] = {
            "provider": a.get("provider"), "contract": a.get("contract"),
            "access": a.get("access"), "access_until": until.isoformat(),
            "account": "expired, locked" if expired else f"expires {expiry}"}
        if not reaches:
            expected[login]["reaches_host"] = False
        user = users.get(login)
        if user is None:
            found[login] = "absent"
            if not expired:
                problems.append(f"provider account {login} ({a.get('provider')}) is missing")
            continue
        shadow = user.get("shadow") or {}
        exp = shadow.get("expire_days")
        exp_text = (_EPOCH + _dt.timedelta(days=int(exp))).isoformat() if exp is not None else None
        locked = bool(shadow.get("locked"))
        found[login] = {"expires": exp_text or "never", "locked": locked}
        if not reaches:
            if exp is None or int(exp) > today_days or not locked:
                problems.append(f"{login} ({a.get('provider')}): no access to this host but "
                                f"the account is {'not locked' if not locked else 'not expired'}")
        elif expired:
            if exp is None or int(exp) > today_days or not locked:
                problems.append(f"{login} ({a.get('provider')}): access ended on "
                                f"{until.isoformat()} but the account is "
                                f"{'not locked' if not locked else 'not expired'}")
        elif exp is None or int(exp) != expiry_days:
            problems.append(f"{login} ({a.get('provider')}): account expiry "
                            f"{exp_text or 'never'} instead of {expiry} (access until "
                            f"{until.isoformat()})")
    if problems:
        return Outcome(False, found, expected, "; ".join(problems))
    return Outcome(True, found, expected,
                   "every provider account expires with its access, ended ones are locked")


def prv_02(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    rc = section(facts, "remote_control")
    declared = {str(t) for t in var(variables, "esms_providers_remote_tools", [])}
    tools: dict[str, Any] = rc.get("tools") or {}
    undeclared: dict[str, Any] = {}
    for tool, hit in tools.items():
        allowed = _PORT_FAMILIES.get(tool, {tool})
        if not (allowed & declared):
            undeclared[tool] = {k: v for k, v in hit.items() if v}
    found = {t: {k: v for k, v in h.items() if v} for t, h in tools.items()}
    expected = sorted(declared) or "no remote-control software"
    if undeclared:
        names = ", ".join(
            f"{t} ({' - '.join(f'{k}: ' + ', '.join(map(str, v)) for k, v in how.items())})"
            for t, how in sorted(undeclared.items()))
        return Outcome(False, found or "none", expected,
                       f"undeclared remote-control software: {names}")
    return Outcome(True, found or "none", expected,
                   "only declared remote-control software" if tools
                   else "no remote-control software")


def prv_03(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    sshd = section(facts, "sshd")
    jd = section(facts, "journald")
    days = int(var(variables, "esms_providers_log_retention_days", 180))
    max_use_mib = int(var(variables, "esms_providers_journal_max_use_mib", 1024))
    problems: list[str] = []
    level = str(sshd.get("loglevel") or "INFO").upper()
    if level not in VERBOSE_LEVELS:
        problems.append(f"sshd LogLevel {level}: the key used by each login is not logged")
    storage = (jd.get("storage") or "auto").lower()
    persistent = storage == "persistent" or (storage == "auto" and jd.get("persistent_dir"))
    if not persistent:
        problems.append(f"journal storage {storage}: logs are lost at reboot")
    # journald deletes an archived journal file whole once its OLDEST entry is older than
    # MaxRetentionSec (systemd src/libsystemd/sd-journal/journal-vacuum.c: the file's head
    # realtime against now - max_retention); a file spans up to MaxFileSec (default 1month,
    # journald.conf(5)). So entries survive MaxRetentionSec - MaxFileSec only: the profile's
    # days need MaxRetentionSec >= days + MaxFileSec.
    retention = journald_span_seconds(jd.get("max_retention"))
    if retention not in (None, 0.0):
        file_text = jd.get("max_file_sec") or "1month"
        file_span = journald_span_seconds(file_text)
        if file_span == 0.0:
            problems.append(f"journal MaxRetentionSec {jd.get('max_retention')} with "
                            "MaxFileSec 0: a journal file may span any time and is deleted "
                            "whole")
        elif retention < days * 86400 + (file_span or _LONG_UNITS["month"]):
            problems.append(f"journal MaxRetentionSec {jd.get('max_retention')} is shorter "
                            f"than {days} days plus MaxFileSec {file_text}")
    max_use = _size_mib(jd.get("system_max_use"))
    if max_use is not None and max_use < max_use_mib:
        problems.append(f"journal SystemMaxUse {jd.get('system_max_use')} is below "
                        f"{max_use_mib} MiB")
    found = {"sshd_loglevel": level, "journal_storage": storage,
             "journal_max_retention": jd.get("max_retention") or "unset",
             "journal_system_max_use": jd.get("system_max_use") or "unset"}
    expected = {"sshd_loglevel": "VERBOSE", "journal_storage": "persistent",
                "journal_max_retention": f">= {days} days + MaxFileSec",
                "journal_system_max_use": f">= {max_use_mib} MiB"}
    if problems:
        return Outcome(False, found, expected, "; ".join(problems))
    return Outcome(True, found, expected,
                   f"SSH logins logged with their key, journal kept {days} days")


#: systemd.time(7) units span_seconds does not know: months (M, month) and years
_LONG_UNITS = {"month": 2629800.0, "months": 2629800.0, "M": 2629800.0,
               "y": 31557600.0, "year": 31557600.0, "years": 31557600.0}


def journald_span_seconds(text: str | None) -> float | None:
    """Seconds of a journald time span ("180day", "6month", "1y 2M"); None when unset or
    unparsable. "M" is a month and "m" a minute, as in systemd.time(7)."""
    if not text:
        return None
    total = 0.0
    rest: list[str] = []
    parts = re.findall(r"\d+(?:\.\d+)?\s*[A-Za-zµ]*", text)
    if not parts or "".join(parts).replace(" ", "") != text.replace(" ", ""):
        return None
    for part in parts:
        m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([A-Za-zµ]*)", part)
        if m and (m.group(2) in _LONG_UNITS):
            total += float(m.group(1)) * _LONG_UNITS[m.group(2)]
        else:
            rest.append(part)
    if rest:
        other = span_seconds(" ".join(rest))
        if other is None:
            return None
        total += other
    return total


_SIZE_UNITS = {"": 1 / (1 << 20), "B": 1 / (1 << 20), "K": 1 / 1024, "M": 1.0, "G": 1024.0,
               "T": 1024.0 * 1024}


def _size_mib(text: str | None) -> float | None:
    """journald.conf sizes: "500M", "4G", "1024" (bytes); None when unset or unparsable."""
    if not text:
        return None
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    num = t.rstrip("KMGTB")
    unit = t[len(num):][:1]
    try:
        return float(num) * _SIZE_UNITS[unit]
    except (ValueError, KeyError):
        return None
