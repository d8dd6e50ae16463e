"""Windows backups (BAK-01/02): restic with a VSS snapshot from a scheduled task (SYSTEM).

BAK-01 reads what the role configured under C:\\ProgramData\\esms-baseline\\backup and the
scheduled task; BAK-02 is the Debian rule itself (same ``backup`` facts: the last snapshot of
this host and the canary restored from it), so both platforms are judged the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from esms_baseline.conformance.model import Outcome
from esms_baseline.conformance.rules._util import section, var
from esms_baseline.conformance.rules.backup import bak_02
from esms_baseline.conformance.rules.windows._common import _desired

#: Who may read the repository password: SYSTEM and Administrators.
ALLOWED_SIDS = frozenset({"S-1-5-18", "S-1-5-32-544"})
#: Task Scheduler results that are not a failure: 0 success, 0x41303 not run yet, 0x41301 running
#: (https://learn.microsoft.com/en-us/windows/win32/taskschd/task-scheduler-error-and-success-constants).
TASK_OK = frozenset({0, 0x41303, 0x41301})
#: restic exit codes that are not a failure: 0, 3 (some source files unreadable, the snapshot
#: is written) (https://restic.readthedocs.io/en/stable/075_scripting.html#exit-codes).
RESTIC_OK = frozenset({0, 3})

__all__ = ["bak_01", "bak_02"]


def bak_01(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-BAK-01 (Windows): restic configured for the profile's repository, paths and
    retention, a password file only SYSTEM/Administrators can read, the daily task as SYSTEM."""
    if not bool(var(variables, "esms_backup_enabled", False)):
        return Outcome.not_applicable("the profile does not back up this host")
    d = _desired(variables).backup
    if d is None:
        return Outcome.not_applicable("the profile does not back up this host")
    bak = section(facts, "backup")
    cfg = bak.get("config") or {}
    pw = bak.get("password_file") or {}
    task = bak.get("task") or {}
    last = bak.get("last_run") or {}
    keep = {"daily": d.keep_daily, "weekly": d.keep_weekly, "monthly": d.keep_monthly}
    canary = d.to_dict()["canary"]
    found = {
        "repository": cfg.get("repository") if bak.get("configured") else "not configured",
        "paths": bak.get("paths") or [],
        "retention": {k: cfg.get(f"keep_{k}") for k in keep},
        "password file": (f"readable by {sorted(set(pw.get('access') or []))}"
                          if pw.get("exists") else "missing"),
        "task": (f"{task.get('state')} as {task.get('user')} at {task.get('starts')}"
                 if task else "missing"),
        "last run": (f"task result {task.get('last_result')}, restic exit "
                     f"{last.get('backup_exit')} ({last.get('finished') or task.get('last_run') or 'never'})"),
    }
    expected = {
        "repository": d.repository,
        "paths": [*d.paths, canary],
        "retention": keep,
        "password file": f"readable by {sorted(ALLOWED_SIDS)} only",
        "task": f"Ready as SYSTEM daily at {d.schedule}",
        "last run": "success (or not run yet)",
    }
    problems: list[str] = []
    if not bak.get("configured"):
        problems.append(f"backup not configured ({d.to_dict()['dir']}\\backup.json missing)")
    else:
        if cfg.get("repository") != d.repository:
            problems.append(f"repository is {cfg.get('repository')!r}, not the profile's")
        missing = [p for p in [*d.paths, canary] if p not in (bak.get("paths") or [])]
        if missing:
            problems.append("not backed up: " + ", ".join(missing))
        if {k: _int(cfg.get(f"keep_{k}")) for k in keep} != keep:
            problems.append(f"retention {found['retention']} instead of {keep}")
        if not pw.get("exists") or not pw.get("size"):
            problems.append("repository password file missing or empty")
        elif set(pw.get("access") or []) - ALLOWED_SIDS:
            problems.append("the password file is readable beyond SYSTEM and Administrators: "
                            f"{sorted(set(pw.get('access') or []) - ALLOWED_SIDS)}")
    if not task:
        problems.append("the scheduled task \\esms-baseline\\ESMS backup is missing")
    else:
        if task.get("state") not in ("Ready", "Running"):
            problems.append(f"the backup task is {task.get('state')}")
        if str(task.get("user") or "").upper() not in ("SYSTEM", "S-1-5-18", "NT AUTHORITY\\SYSTEM"):
            problems.append(f"the backup task runs as {task.get('user')}, not SYSTEM")
        if not any(f"T{d.schedule}:00" in str(s) for s in task.get("starts") or []):
            problems.append(f"the backup task starts at {task.get('starts')}, not {d.schedule}")
        if _int(task.get("last_result")) not in TASK_OK or (
                last and _int(last.get("backup_exit")) not in RESTIC_OK):
            problems.append(f"the last backup failed (task result {task.get('last_result')}, "
                            f"restic exit {last.get('backup_exit')})")
    return Outcome(not problems, found, expected,
                   "; ".join(problems) or f"daily backup at {d.schedule} to {d.repository}")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
