"""ESMS-BAK-01/02 on Windows: the desired backup of a host (restic with a VSS snapshot,
``--use-fs-snapshot``, from a scheduled task running as SYSTEM; restic documentation,
"Reading data from a Windows Volume Shadow Copy":
https://restic.readthedocs.io/en/stable/040_backup.html#reading-data-from-a-windows-volume-shadow-copy).

Same profile section (``backup``) and the same checks as on Debian: the age of the last
off-site snapshot and a test restore of a canary file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from esms_baseline.windows.desired import DesiredStateError, _get, _int, _start_minutes

#: Where the Windows backup lives (configuration, password, canary, script), SYSTEM and
#: Administrators only.
BACKUP_DIR = r"C:\ProgramData\esms-baseline\backup"
BACKUP_TASK_PATH = "\\esms-baseline\\"
BACKUP_TASK_NAME = "ESMS backup"
_WIN_PATH = re.compile(r"^[A-Za-z]:\\")
#: sftp:user@host:/path and sftp://user@host:port//path (restic's two forms)
#: user and host are restricted to name characters: they end up on ssh's command line.
_SFTP = re.compile(r"^sftp:(?://)?(?:(?P<user>[A-Za-z0-9._-]+)@)?(?P<host>[A-Za-z0-9.-]+)"
                   r"(?::(?P<port>[0-9]{1,5})(?=/))?[:/]")
SSH_EXE = r"C:\Windows\System32\OpenSSH\ssh.exe"
#: restic splits ``-o sftp.command=...`` itself (restic internal/backend/shell_split.go,
#: SplitShellStrings): OUTSIDE quotes a backslash separates arguments (its test case
#: ``\"bar box baz`` gives ``"bar``, ``box``, ``baz``), so an unquoted ``C:\Windows\...`` path
#: would become ``C:``, ``Windows``... Every argument holding a Windows path is therefore in
#: SINGLE quotes, whole (a quote opening mid-word also splits). Never double quotes: Windows
#: PowerShell 5.1 passes a native argument's embedded double quotes unescaped, which breaks
#: the command line restic.exe receives (PowerShell 7.3 changed this:
#: about_Parsing, PSNativeCommandArgumentPassing).


@dataclass(frozen=True)
class WindowsBackup:
    """ESMS-BAK-01/02 on Windows: restic (VSS snapshot) from a scheduled task running as
    SYSTEM, to the profile's off-site repository, with the same canary test restore as on
    Debian."""

    paths: tuple[str, ...]
    repository: str
    #: restic's ``-o sftp.command=...`` for sftp: repositories ("" otherwise)
    sftp_command: str
    schedule: str
    keep_daily: int
    keep_weekly: int
    keep_monthly: int
    max_age_hours: int

    def to_dict(self) -> dict[str, Any]:
        return {"paths": list(self.paths), "repository": self.repository,
                "sftp_command": self.sftp_command,
                "schedule": self.schedule, "keep_daily": self.keep_daily,
                "keep_weekly": self.keep_weekly, "keep_monthly": self.keep_monthly,
                "max_age_hours": self.max_age_hours, "dir": BACKUP_DIR,
                "canary": BACKUP_DIR + "\\backup-canary.txt",
                "task_path": BACKUP_TASK_PATH, "task_name": BACKUP_TASK_NAME}


def windows_backup(v: Mapping[str, Any]) -> WindowsBackup | None:
    """The Windows backup of a host the profile backs up (None otherwise)."""
    if not bool(_get(v, "esms_backup_enabled", False)):
        return None
    paths = tuple(str(x) for x in _get(v, "esms_backup_paths", []))
    bad = [x for x in paths if not _WIN_PATH.match(x) or any(ord(c) < 32 for c in x)]
    if bad or not paths:
        raise DesiredStateError(
            "ESMS-BAK-01: a backed-up Windows host needs Windows paths (C:\\...) in "
            f"backup.paths; found {list(paths) or 'none'}")
    repo = str(_get(v, "esms_backup_repository", ""))
    if not repo or _WIN_PATH.match(repo) or repo.startswith("\\\\"):
        raise DesiredStateError(
            f"ESMS-BAK-01: repository {repo!r} is not off-site (a drive or share path): use "
            "sftp:, rest:, s3:... (socle point 3)")
    sftp = ""
    m = _SFTP.match(repo)
    if repo.startswith("sftp:") and (not m or m.group("host").startswith("-")):
        raise DesiredStateError(
            f"ESMS-BAK-01: sftp repository {repo!r}: expected sftp:user@host:/path or "
            "sftp://user@host:port//path with a plain host name")
    if m:
        user, host, port = m.group("user"), m.group("host"), m.group("port")
        known = bool(_get(v, "esms_backup_ssh_known_hosts", []))
        # the OpenSSH client of Windows 10 1809+ / Server 2019+; SYSTEM's own key and known hosts
        sftp = (f"'{SSH_EXE}' -i '{BACKUP_DIR}\\id_esms_backup' -o BatchMode=yes "
                f"-o 'UserKnownHostsFile={BACKUP_DIR}\\known_hosts' "
                f"-o StrictHostKeyChecking={'yes' if known else 'accept-new'}"
                + (f" -p {port}" if port else "") + " "
                + (f"{user}@" if user else "") + f"{host} -s sftp")
    schedule = str(_get(v, "esms_backup_schedule", "01:00"))
    _start_minutes(schedule)  # HH:MM
    return WindowsBackup(
        paths=paths, repository=repo, sftp_command=sftp, schedule=schedule,
        keep_daily=_int(v, "esms_backup_retention_daily", 7),
        keep_weekly=_int(v, "esms_backup_retention_weekly", 4),
        keep_monthly=_int(v, "esms_backup_retention_monthly", 6),
        max_age_hours=_int(v, "esms_backup_max_age_hours", 26),
    )
