"""Providers' access (ESMS-PRV-01..03), Windows rules, on the collector's ``providers``
section (``collectors/windows.ps1``) and the same role variables as the Windows tasks
(``roles/esms_providers/tasks/windows/``) and the Debian rules (``rules/providers.py``).

- PRV-01: each provider account is a local account that expires (Get-LocalUser
  AccountExpires, local time) at 00:00 the day after its last day of access; once that day is
  past, or on a host its provider does not reach, the account is disabled (Enabled false).
  Windows refuses an expired or a disabled account at logon; it is never deleted.
- PRV-02: remote-control software seen as an installed program, a service or a listening
  TCP port (``esms_baseline.windows.providers.REMOTE_TOOLS``) is declared for this host.
- PRV-03: the advanced audit subcategories Logon and Special Logon record success and
  failure (read by GUID from ``auditpol /backup``); the Security log is at least the
  profile's size, overwrites its oldest events when full (Circular, or AutoBackup which
  archives them), and once full it holds at least the profile's days. Windows sizes a log in
  bytes, not days: the days are measured (oldest event), not configured.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from esms_baseline.conformance.model import Outcome
from esms_baseline.conformance.rules._util import FactsUnavailable, section, var
from esms_baseline.conformance.rules.providers import _day
from esms_baseline.conformance.rules.providers import prv_02 as _debian_prv_02
from esms_baseline.windows import parse
from esms_baseline.windows.providers import (
    AUDIT_SETTING_TEXT,
    AUDIT_SUBCATEGORIES,
    AUDIT_SUCCESS_AND_FAILURE,
    match_remote_tools,
)

#: a circular log counts as full above this share of its maximum size
_FULL_SHARE = 0.95
#: log modes that keep recording once the log is full (EventLogMode: Circular overwrites the
#: oldest events, AutoBackup archives the full log and starts a new one; Retain stops):
#: https://learn.microsoft.com/dotnet/api/system.diagnostics.eventing.reader.eventlogmode
_KEEPS_RECORDING = frozenset({"circular", "autobackup"})


def prv_01(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    wanted = list(var(variables, "esms_providers_accounts", []))
    if not wanted:
        return Outcome.not_applicable("no provider account is declared for this host")
    sec = section(facts, "providers")
    try:
        today = _day(sec.get("today"))
    except ValueError as exc:
        raise FactsUnavailable(f"providers.today is not a date: {sec.get('today')!r}") from exc
    if sec.get("users") is None:
        raise FactsUnavailable("the local accounts (Get-LocalUser) were not read")
    users = {str(u.get("name", "")).lower(): u for u in parse.as_list(sec.get("users"))
             if isinstance(u, Mapping)}
    problems: list[str] = []
    found: dict[str, Any] = {}
    expected: dict[str, Any] = {}
    for a in wanted:
        login, prov = str(a["login"]), a.get("provider")
        until = _day(a["access_until"])
        reaches = a.get("reaches", True) is not False
        ended = not reaches or today > until
        # 00:00 local time the day after the last day of access (the task's Set-LocalUser)
        expiry = (f"{(until + _dt.timedelta(days=1)).isoformat()}T00:00:00"
                  if until < _dt.date.max else "never")
        expected[login] = {"provider": prov, "contract": a.get("contract"),
                           "access": a.get("access"), "access_until": until.isoformat(),
                           "account": ("expired, disabled" if ended else f"expires {expiry}")}
        if not reaches:
            expected[login]["reaches_host"] = False
        user = users.get(login.lower())
        if user is None:
            found[login] = "absent"
            if not ended:
                problems.append(f"provider account {login} ({prov}) is missing")
            continue
        exp = user.get("expires") or None
        enabled = bool(user.get("enabled"))
        # "locked" as in the Debian rule (the report's providers section reads it): here the
        # account is disabled, Windows refuses its logons
        found[login] = {"expires": exp or "never", "locked": not enabled}
        if enabled and not reaches:
            problems.append(f"{login} ({prov}): no access to this host but the account is "
                            "enabled")
        elif enabled and ended:
            problems.append(f"{login} ({prov}): access ended on {until.isoformat()} but the "
                            "account is enabled")
        elif not ended and exp != expiry:
            problems.append(f"{login} ({prov}): account expiry {exp or 'never'} instead of "
                            f"{expiry} (access until {until.isoformat()})")
    if problems:
        return Outcome(False, found, expected, "; ".join(problems))
    return Outcome(True, found, expected,
                   "every provider account expires with its access, ended ones are disabled")


def prv_02(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    sec = section(facts, "providers")
    listening = [s for s in parse.as_list(facts.get("listening")) if isinstance(s, Mapping)]
    tools = match_remote_tools(sec, listening)
    # same judgement as Debian (port-only VNC covered by any declared VNC tool)
    return _debian_prv_02({"remote_control": {"tools": tools}}, variables)


def _audit(sec: Mapping[str, Any]) -> dict[str, int | None]:
    rows = {str(r.get("guid", "")).upper(): r for r in parse.as_list(sec.get("audit"))
            if isinstance(r, Mapping)}
    if not rows:
        raise FactsUnavailable("the audit policy (auditpol /backup) was not collected")
    out: dict[str, int | None] = {}
    for name, guid in AUDIT_SUBCATEGORIES.items():
        row = rows.get(guid.upper())
        try:
            out[name] = int(str(row.get("value")).strip()) if row else None
        except ValueError:
            out[name] = None
    return out


def _held_days(log: Mapping[str, Any], facts: Mapping[str, Any]) -> int | None:
    oldest, now = log.get("oldest"), facts.get("collected_at")
    if not oldest or not now:
        return None
    try:
        a = _dt.datetime.fromisoformat(str(oldest)[:19])
        b = _dt.datetime.fromisoformat(str(now)[:19])
    except ValueError:
        return None
    return max((b - a).days, 0)


def prv_03(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    sec = section(facts, "providers")
    days = int(var(variables, "esms_providers_log_retention_days", 180))
    kib = int(var(variables, "esms_providers_windows_security_log_kib", 196608))
    problems: list[str] = []
    found: dict[str, Any] = {}
    expected: dict[str, Any] = {}
    for name, value in _audit(sec).items():
        text = AUDIT_SETTING_TEXT.get(value, "no auditing") if value is not None else "absent"
        found[f"audit {name}"] = text
        expected[f"audit {name}"] = "success and failure"
        if value != AUDIT_SUCCESS_AND_FAILURE:
            problems.append(f"audit policy {name} is {text}, not success and failure")
    log = sec.get("security_log")
    if not isinstance(log, Mapping):
        raise FactsUnavailable("the Security log settings were not collected")
    max_bytes = int(log.get("max_bytes") or 0)
    mode = str(log.get("mode") or "")
    held = _held_days(log, facts)
    full = bool(log.get("full")) or (max_bytes > 0 and int(log.get("file_bytes") or 0)
                                     >= _FULL_SHARE * max_bytes)
    found.update({"security_log_max_kib": max_bytes // 1024, "security_log_mode": mode,
                  "security_log_days_held": held if held is not None else "unknown"})
    expected.update({"security_log_max_kib": f">= {kib} KiB", "security_log_mode": "Circular",
                     "security_log_days_held": f">= {days} days once full"})
    if max_bytes < kib * 1024:
        problems.append(f"Security log maximum size {max_bytes // 1024} KiB is below {kib} KiB")
    if mode.lower() not in _KEEPS_RECORDING:
        problems.append(f"Security log mode {mode}: new events are lost once it is full")
    if full and held is not None and held < days:
        problems.append(f"Security log is full and holds {held} days, less than {days}: "
                        "increase its size")
    if problems:
        return Outcome(False, found, expected, "; ".join(problems))
    return Outcome(True, found, expected,
                   f"logons audited (success and failure), Security log of {kib} KiB")
