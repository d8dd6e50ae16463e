"""Socle 3, backups: ESMS-BAK-01/02 on Debian (restic to an off-site repository).

BAK-01 reads what the role configured (settings, timer, password file, last run); BAK-02 what
the repository holds: the age of this host's last snapshot and a test restore of the canary
file (restored to memory by the collector, its sha256 compared with the local file). A
repository that cannot be reached is a failure with the reason, never a pass.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from typing import Any

from esms_baseline.conformance.model import Outcome
from esms_baseline.conformance.rules._util import as_int, section, var

TIMER = "esms-backup.timer"
SERVICE = "esms-backup.service"
DEFAULT_CANARY = "/var/lib/esms-baseline/backup-canary"


def _not_backed_up(variables: Mapping[str, Any]) -> Outcome | None:
    if not bool(var(variables, "esms_backup_enabled", False)):
        return Outcome.not_applicable("the profile does not back up this host")
    return None


def parse_restic_time(text: str) -> _dt.datetime | None:
    """restic's RFC 3339 time with nanoseconds ("2026-11-23T01:48:51.500868918Z")."""
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$", text.strip())
    if not m:
        return None
    base, frac, tz = m.groups()
    iso = base + (f".{(frac or '0')[:6].ljust(6, '0')}") + ("+00:00" if tz in (None, "Z") else tz)
    try:
        return _dt.datetime.fromisoformat(iso)
    except ValueError:
        return None


def bak_01(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-BAK-01: restic configured for the profile's repository and paths, with its
    retention, a root-only password file, and esms-backup.timer enabled on the schedule."""
    na = _not_backed_up(variables)
    if na:
        return na
    repo = str(var(variables, "esms_backup_repository"))
    paths = [str(p) for p in var(variables, "esms_backup_paths", [])]
    schedule = str(var(variables, "esms_backup_schedule"))
    keep = {k: int(var(variables, f"esms_backup_retention_{k}")) for k in ("daily", "weekly", "monthly")}
    canary = str(var(variables, "esms_backup_canary_path", DEFAULT_CANARY))
    bak = section(facts, "backup")
    units = section(facts, "units")
    pkgs = section(facts, "packages")
    env = bak.get("env") or {}
    timer = units.get(TIMER) or {}
    service = units.get(SERVICE) or {}
    pw = bak.get("password_file") or {}
    configured_paths = bak.get("paths") or []
    calendar = f"*-*-* {schedule}:00"
    found = {
        "restic": pkgs.get("restic") or "not installed",
        "repository": env.get("RESTIC_REPOSITORY") if bak.get("configured") else "not configured",
        "paths": configured_paths,
        "retention": {k: as_int(env.get(f"ESMS_BACKUP_KEEP_{k.upper()}")) for k in keep},
        "password file": (f"{pw.get('mode')} uid {pw.get('uid')}" if pw.get("exists") else "missing"),
        TIMER: f"{timer.get('UnitFileState')}/{timer.get('ActiveState')} {timer.get('calendars') or []}",
        "last run": (f"{service.get('Result')} (exit {service.get('ExecMainStatus')}, "
                     f"{service.get('ExecMainExitTimestamp') or 'never'})"),
    }
    expected = {
        "repository": repo,
        "paths": [*paths, canary],
        "retention": keep,
        "password file": "0600 uid 0",
        TIMER: f"enabled/active ['{calendar}']",
        "last run": "success (or not run yet)",
    }
    problems = []
    if not pkgs.get("restic"):
        problems.append("restic not installed")
    if not bak.get("configured"):
        problems.append("backup not configured (/etc/esms-baseline/backup.env missing)")
    else:
        if env.get("RESTIC_REPOSITORY") != repo:
            problems.append(f"repository is {env.get('RESTIC_REPOSITORY')!r}, not the profile's")
        missing = [p for p in [*paths, canary] if p not in configured_paths]
        if missing:
            problems.append("not backed up: " + ", ".join(missing))
        if found["retention"] != keep:
            problems.append(f"retention {found['retention']} instead of {keep}")
        try:
            mode_bits = int(str(pw.get("mode")), 8)
        except ValueError:
            mode_bits = 0o777
        if not pw.get("exists") or not pw.get("size"):
            problems.append("repository password file missing or empty")
        elif pw.get("uid") != 0 or mode_bits & 0o077:
            problems.append(f"password file readable beyond root (mode {pw.get('mode')}, uid {pw.get('uid')})")
    if timer.get("UnitFileState") != "enabled" or timer.get("ActiveState") != "active":
        problems.append(f"{TIMER} not enabled and active")
    elif calendar not in (timer.get("calendars") or []):
        problems.append(f"{TIMER} runs {timer.get('calendars')} instead of {calendar}")
    if service.get("ActiveState") == "failed" or service.get("Result") not in (None, "success"):
        problems.append(f"the last backup failed ({service.get('Result')}, exit "
                        f"{service.get('ExecMainStatus')})")
    return Outcome(not problems, found, expected,
                   "; ".join(problems) or f"daily backup at {schedule} to {repo}")


def bak_02(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-BAK-02: the last off-site snapshot of this host is younger than max_age_hours and
    the canary restored from it has the local file's sha256."""
    na = _not_backed_up(variables)
    if na:
        return na
    max_age = int(var(variables, "esms_backup_max_age_hours"))
    bak = section(facts, "backup")
    expected = {"last snapshot": f"younger than {max_age} h",
                "test restore": "canary restored, same sha256 as the local file"}
    if not bak.get("configured") or bak.get("snapshots") is None:
        return Outcome(False, {"last snapshot": "backup not configured"}, expected,
                       "backup not configured on this host: no repository to read")
    snaps = bak["snapshots"]
    if not snaps.get("ok"):
        return Outcome(False, {"last snapshot": f"unreachable repository: {snaps.get('error')}"},
                       expected, f"unreachable repository: {snaps.get('error')}")
    latest = snaps.get("latest")
    if not latest:
        return Outcome(False, {"last snapshot": "none"}, expected,
                       "the off-site repository holds no snapshot of this host")
    when = parse_restic_time(str(latest.get("time") or ""))
    if when is None:
        return Outcome(False, {"last snapshot": latest}, expected,
                       f"unreadable snapshot time {latest.get('time')!r}")
    now = _dt.datetime.fromtimestamp(int(bak.get("now") or 0), _dt.UTC)
    age_hours = max(0.0, (now - when).total_seconds() / 3600)
    restore = bak.get("restore") or {}
    canary = bak.get("canary") or {}
    found: dict[str, Any] = {
        "last snapshot": f"{latest.get('short_id')} at {when.isoformat(timespec='seconds')} "
                         f"({age_hours:.1f} h old)",
    }
    problems = []
    if age_hours > max_age:
        problems.append(f"last off-site snapshot {age_hours:.1f} h old (maximum {max_age} h)")
    if not canary.get("exists") or not canary.get("sha256"):
        found["test restore"] = "no local canary file"
        problems.append("no canary file to test a restore")
    elif not restore.get("ok"):
        found["test restore"] = f"failed: {restore.get('error')}"
        problems.append(f"test restore failed: {restore.get('error')}")
    elif restore.get("sha256") != canary.get("sha256"):
        found["test restore"] = "restored content differs from the local file"
        problems.append("the restored canary differs from the local file")
    else:
        found["test restore"] = "canary restored, sha256 matches"
    return Outcome(not problems, found, expected,
                   "; ".join(problems) or f"off-site snapshot {age_hours:.1f} h old, restore tested")
