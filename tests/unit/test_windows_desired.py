"""The profile -> Windows desired state mapping (esms_baseline.windows.desired): documented
registry names, types and values, security policy keys, validation, and agreement with the
collector (every desired registry value is collected)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from esms_baseline.plan import build_plan
from esms_baseline.profile import load_profile
from esms_baseline.windows import DesiredStateError, desired_state, render_desired_state
from esms_baseline.windows.desired import (
    INACTIVITY_MAX_SECONDS,
    KEY_AU,
    KEY_SAM,
    KEY_SYSTEM_POLICIES,
    KEY_WINLOGON,
    USER_KEY_DESKTOP_POLICIES,
)
from esms_baseline.windows.plan_additions import contract_additions

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "windows"
COLLECTOR = ROOT / "esms_baseline" / "conformance" / "collectors" / "windows.ps1"


def windows_vars(host: str = "pc-soins-01") -> dict[str, Any]:
    profile = load_profile(DATA / "site-windows.yml")
    v = dict(build_plan(profile).host(host).vars)
    v.update(contract_additions(profile, host))
    return v


def reg(state: Any) -> dict[tuple[str, str], tuple[str, Any]]:
    return {(r.path, r.name): (r.type, r.data) for r in state.registry}


def secpol(state: Any) -> dict[str, int]:
    return {s.key: s.value for s in state.secpol}


def test_session_lock_per_group_minutes_and_documented_names() -> None:
    soins, bureau = desired_state(windows_vars("pc-soins-01")), desired_state(windows_vars("pc-bureau-01"))
    assert reg(soins)[(KEY_SYSTEM_POLICIES, "InactivityTimeoutSecs")] == ("dword", 300)
    assert reg(bureau)[(KEY_SYSTEM_POLICIES, "InactivityTimeoutSecs")] == ("dword", 900)
    r = reg(soins)
    assert KEY_SYSTEM_POLICIES == r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System"
    # the secure screen saver is a USER policy (ADMX_ControlPanelDisplay, scope User): it is
    # written in every user's hive, never under HKLM where Windows does not read it
    assert not [k for k in r if "Control Panel" in k[0]]
    assert USER_KEY_DESKTOP_POLICIES == r"Software\Policies\Microsoft\Windows\Control Panel\Desktop"
    u = {(x.subkey, x.name): (x.type, x.data) for x in soins.user_registry}
    assert u == {(USER_KEY_DESKTOP_POLICIES, "ScreenSaveActive"): ("string", "1"),
                 (USER_KEY_DESKTOP_POLICIES, "ScreenSaverIsSecure"): ("string", "1"),
                 (USER_KEY_DESKTOP_POLICIES, "ScreenSaveTimeOut"): ("string", "300")}
    assert r[(KEY_WINLOGON, "ScreenSaverGracePeriod")] == ("string", "0")


@pytest.mark.parametrize("minutes", [0, -1, INACTIVITY_MAX_SECONDS // 60 + 1])
def test_inactivity_outside_windows_range_is_refused(minutes: int) -> None:
    v = windows_vars() | {"esms_session_lock_idle_minutes": minutes}
    with pytest.raises(DesiredStateError, match="599940"):
        desired_state(v)


def test_inactivity_maximum_is_accepted() -> None:
    v = windows_vars() | {"esms_session_lock_idle_minutes": 9999}
    assert reg(desired_state(v))[(KEY_SYSTEM_POLICIES, "InactivityTimeoutSecs")] == ("dword", 599940)


def test_password_policy_keys_case2() -> None:
    s = desired_state(windows_vars())
    assert secpol(s) == {
        "MinimumPasswordLength": 10, "PasswordComplexity": 1, "LockoutBadCount": 5,
        "ResetLockoutCount": 15, "LockoutDuration": 15, "MaximumPasswordAge": -1,
        "MinimumPasswordAge": 1, "PasswordHistorySize": 5,
    }
    assert {x.section for x in s.secpol} == {"System Access"}
    assert s.min_build_for_password_length is None
    assert (KEY_SAM, "RelaxMinimumPasswordLengthLimits") not in reg(s)
    assert not s.limitations_for("ESMS-PWD-01")


def test_length_above_14_needs_relaxed_limits_and_build_19041() -> None:
    s = desired_state(windows_vars() | {"esms_passwords_min_length": 16})
    assert reg(s)[(KEY_SAM, "RelaxMinimumPasswordLengthLimits")] == ("dword", 1)
    assert s.min_build_for_password_length == 19041
    # the relaxed-limit switch comes before the length (tasks apply registry first)
    with pytest.raises(DesiredStateError, match="128"):
        desired_state(windows_vars() | {"esms_passwords_min_length": 129})


def test_case1_complex_classes_are_a_limitation() -> None:
    v = windows_vars() | {"esms_passwords_required_classes": ["upper", "lower", "digit", "special"],
                          "esms_passwords_min_classes": 4, "esms_passwords_lockout_threshold": 0,
                          "esms_passwords_min_length": 12}
    s = desired_state(v)
    assert secpol(s)["PasswordComplexity"] == 1
    assert "LockoutDuration" not in secpol(s) and secpol(s)["LockoutBadCount"] == 0
    assert any("3 of 5" in t for t in s.limitations_for("ESMS-PWD-01"))


def test_max_age_and_admin_age() -> None:
    s = desired_state(windows_vars() | {"esms_passwords_max_age_days": 90})
    assert secpol(s)["MaximumPasswordAge"] == 90
    assert s.admin_max_age_days == 365
    assert s.limitations_for("ESMS-PWD-04")
    with pytest.raises(DesiredStateError, match="below the maximum"):
        desired_state(windows_vars() | {"esms_passwords_max_age_days": 1})


def test_windows_update_schedule() -> None:
    r = reg(desired_state(windows_vars()))
    assert r[(KEY_AU, "NoAutoUpdate")] == ("dword", 0)
    assert r[(KEY_AU, "AUOptions")] == ("dword", 4)
    assert r[(KEY_AU, "ScheduledInstallDay")] == ("dword", 1)  # Sunday
    assert r[(KEY_AU, "ScheduledInstallTime")] == ("dword", 3)
    assert r[(KEY_AU, "NoAutoRebootWithLoggedOnUsers")] == ("dword", 0)
    assert r[(KEY_AU, "AlwaysAutoRebootAtScheduledTime")] == ("dword", 1)
    # the restart timer the policy needs (15..180 min, Microsoft Learn "Manage device
    # restarts after updates"): 15, the earliest restart after the installation
    assert r[(KEY_AU, "AlwaysAutoRebootAtScheduledTimeMinutes")] == ("dword", 15)


@pytest.mark.parametrize(("days", "start", "day", "hour"), [
    (["sat"], "22:00", 7, 22),
    (["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "02:00", 0, 2),
    (["wed", "mon"], "01:30", 2, 2),
])
def test_windows_update_days_and_hours(days: list[str], start: str, day: int, hour: int) -> None:
    v = windows_vars() | {"esms_updates_window_days": days, "esms_updates_window_start": start}
    s = desired_state(v)
    assert reg(s)[(KEY_AU, "ScheduledInstallDay")] == ("dword", day)
    assert reg(s)[(KEY_AU, "ScheduledInstallTime")] == ("dword", hour)


def test_window_without_a_full_hour_is_refused_and_never_reboot() -> None:
    with pytest.raises(DesiredStateError, match="full hour"):
        desired_state(windows_vars() | {"esms_updates_window_start": "03:30",
                                        "esms_updates_window_duration_minutes": 20})
    r = reg(desired_state(windows_vars() | {"esms_updates_reboot": "never"}))
    assert r[(KEY_AU, "NoAutoRebootWithLoggedOnUsers")] == ("dword", 1)
    assert r[(KEY_AU, "AlwaysAutoRebootAtScheduledTime")] == ("dword", 0)
    assert (KEY_AU, "AlwaysAutoRebootAtScheduledTimeMinutes") not in r


def test_firewall_rules_management_first_and_services() -> None:
    s = desired_state(windows_vars("pc-bureau-01"))
    rules = {r.name: r for r in s.firewall_rules}
    assert rules["ESMS management 5986/tcp"].remote_addresses == ("203.0.113.0/24",)
    assert rules["ESMS dui-agent"].port == 8443
    assert rules["ESMS dui-agent"].remote == ["10.20.0.0/16"]
    assert next(r.control for r in s.firewall_rules) == "ESMS-FW-03"
    rdp = desired_state(windows_vars() | {"esms_firewall_windows_allow_rdp": True})
    assert "ESMS management 3389/tcp" in {r.name for r in rdp.firewall_rules}
    with pytest.raises(DesiredStateError, match="locked out"):
        desired_state(windows_vars() | {"esms_firewall_management_sources": []})


def test_banner_antivirus_accounts() -> None:
    s = desired_state(windows_vars())
    r = reg(s)
    assert r[(KEY_SYSTEM_POLICIES, "LegalNoticeCaption")] == ("string",
                                                              "Charte informatique (version 2026-01)")
    assert r[(KEY_SYSTEM_POLICIES, "LegalNoticeText")][1].startswith("Système d'information")
    assert s.antivirus_max_signature_age_days == 2
    assert s.administrators == ("jmartin", "esms-admin")
    assert not desired_state(windows_vars() | {"esms_banner_text": ""}).registry_for("ESMS-BAN-01")
    long_user = {"login": "a" * 21, "full_name": "X", "groups": [], "state": "present"}
    with pytest.raises(DesiredStateError, match="20 characters"):
        desired_state(windows_vars() | {"esms_accounts_users": [long_user]})


def test_render_is_plain_json_with_every_key_the_tasks_use() -> None:
    doc = render_desired_state(windows_vars())
    assert json.loads(json.dumps(doc)) == doc
    used: set[str] = set()
    for f in (ROOT / "roles").glob("*/tasks/windows*/**/*.yml"):
        used |= set(re.findall(r"esms_windows_desired\.(\w+)", f.read_text(encoding="utf-8")))
    for f in (ROOT / "roles").glob("*/tasks/windows.yml"):
        used |= set(re.findall(r"esms_windows_desired\.(\w+)", f.read_text(encoding="utf-8")))
    assert used and used <= set(doc), used - set(doc)


def test_collector_reads_every_desired_registry_value() -> None:
    text = COLLECTOR.read_text(encoding="utf-8")
    collected = set(re.findall(r"@\('([^']+)', '([^']+)'\)", text))
    v = windows_vars() | {"esms_passwords_min_length": 16}
    wanted = {(r.path, r.name) for r in desired_state(v).registry}
    assert wanted <= collected, wanted - collected
    # user-scope values are read in the user hives, by name, never under HKLM
    users = set(re.findall(r"\$UserPolicyValues = @\(([^)]*)\)", text)[0].replace("'", "")
                .replace(" ", "").split(","))
    assert {u.name for u in desired_state(v).user_registry} <= users
    assert not [c for c in collected if "Control Panel" in c[0]]



# ---------------------------------------------------------------- ESMS-BAK-01/02 on Windows


def test_windows_backup_paths_repository_and_sftp_command() -> None:
    from esms_baseline.windows.backup import windows_backup

    b = desired_state(windows_vars()).backup
    assert b is not None
    assert b.paths == ("C:\\Users\\Public\\Documents", "D:\\Partages")
    assert b.schedule == "01:30"
    assert b.sftp_command.endswith(" ehpadtest@sauvegarde.infogerance.example -s sftp")
    assert "StrictHostKeyChecking=accept-new" in b.sftp_command
    base = {"esms_backup_enabled": True, "esms_backup_paths": ["C:\\Data"]}
    assert windows_backup({"esms_backup_enabled": False}) is None
    for repo in ("D:\\Backup", "\\\\nas\\backup", ""):
        with pytest.raises(DesiredStateError, match="not off-site"):
            windows_backup(base | {"esms_backup_repository": repo})
    # a hostile host name would become an ssh option run as SYSTEM: refused
    for repo in ("sftp:u@-oProxyCommand=calc:/x", "sftp:u@h x:/y", "sftp:u@h;calc:/y"):
        with pytest.raises(DesiredStateError, match="plain host name"):
            windows_backup(base | {"esms_backup_repository": repo})
    with pytest.raises(DesiredStateError, match="Windows paths"):
        windows_backup(base | {"esms_backup_paths": [], "esms_backup_repository": "s3:x/y"})
    with pytest.raises(DesiredStateError, match="Windows paths"):
        windows_backup(base | {"esms_backup_paths": ["relative\\x"], "esms_backup_repository": "s3:x/y"})
    assert windows_backup(base | {"esms_backup_repository": "s3:https://s3.example/b"}).sftp_command == ""
    # one path per line in restic's --files-from: a newline would smuggle in another path
    with pytest.raises(DesiredStateError, match="Windows paths"):
        windows_backup(base | {"esms_backup_paths": ["C:\\Data\nC:\\Users"],
                               "esms_backup_repository": "s3:x/y"})


def test_each_platform_needs_its_own_backup_paths(tmp_path: Path) -> None:
    """backup.paths mixes platforms; a backed-up host without a path of its platform is
    refused at plan time (with the control and the section named), never silently empty."""
    from esms_baseline.errors import EsmsError

    text = (DATA / "site-windows.yml").read_text(encoding="utf-8")
    only_windows = text.replace("paths: [/srv/partage, 'C:\\Users\\Public\\Documents', 'D:\\Partages']",
                                "paths: ['D:\\Partages']")
    assert only_windows != text
    (tmp_path / "site.yml").write_text(only_windows, encoding="utf-8")
    with pytest.raises(EsmsError, match="no Debian path"):
        build_plan(load_profile(tmp_path / "site.yml"))
    only_debian = text.replace("paths: [/srv/partage, 'C:\\Users\\Public\\Documents', 'D:\\Partages']",
                               "paths: [/srv/partage]")
    (tmp_path / "site.yml").write_text(only_debian, encoding="utf-8")
    with pytest.raises(EsmsError, match="needs Windows paths"):
        build_plan(load_profile(tmp_path / "site.yml"))


def restic_split(command: str) -> list[str]:
    """How restic turns ``-o sftp.command=...`` into argv (internal/backend/shell_split.go,
    SplitShellStrings; written here from its behaviour, checked on restic's own test cases
    below): ' and " group, a quote preceded by a backslash is a plain character, and OUTSIDE
    quotes whitespace AND backslashes separate arguments."""
    out: list[str] = []
    cur: list[str] | None = None
    quote = ""
    last = ""
    for c in command:
        split = False
        if last != "\\" and quote and c == quote:
            quote, split = "", True
        elif last != "\\" and not quote and c in "'\"":
            quote, split = c, True
        else:
            last = c
            split = not quote and (c == "\\" or c.isspace())
        if split:
            if cur is not None:
                out.append("".join(cur))
                cur = None
        elif cur is None:
            cur = [c]
        else:
            cur.append(c)
    if quote:
        raise ValueError("quote not terminated")
    if cur is not None:
        out.append("".join(cur))
    return out


@pytest.mark.parametrize(("data", "argv"), [  # restic shell_split_test.go, TestShellSplitter
    ("foo bar baz", ["foo", "bar", "baz"]),
    ("foo 'bar' baz", ["foo", "bar", "baz"]),
    ("'bar box' baz", ["bar box", "baz"]),
    ("\"bar 'box'\" baz", ["bar 'box'", "baz"]),
    ("'bar \"box\"' baz", ['bar "box"', "baz"]),
    ('\\"bar box baz', ['"bar', "box", "baz"]),
    ('"bar/foo/x" "box baz"', ["bar/foo/x", "box baz"]),
])
def test_restic_split_model_matches_restic_test_cases(data: str, argv: list[str]) -> None:
    assert restic_split(data) == argv


def test_windows_sftp_command_survives_restic_split_and_powershell_51() -> None:
    """The sftp.command restic runs as SYSTEM must reach ssh.exe with whole Windows paths.
    Unquoted, restic splits C:\\Windows\\... at every backslash (the defect of the first
    version); double quotes are mangled by Windows PowerShell 5.1's native argument passing."""
    from esms_baseline.windows.backup import BACKUP_DIR, SSH_EXE, windows_backup

    base = {"esms_backup_enabled": True, "esms_backup_paths": ["C:\\Data"]}
    for repo, tail in (("sftp:u@store.example:/srv/x", ["u@store.example"]),
                       ("sftp://u@store.example:2222//srv/x", ["-p", "2222", "u@store.example"])):
        b = windows_backup(base | {"esms_backup_repository": repo})
        assert b is not None
        assert '"' not in b.sftp_command
        assert restic_split(b.sftp_command) == [
            SSH_EXE, "-i", BACKUP_DIR + "\\id_esms_backup", "-o", "BatchMode=yes",
            "-o", "UserKnownHostsFile=" + BACKUP_DIR + "\\known_hosts",
            "-o", "StrictHostKeyChecking=accept-new", *tail, "-s", "sftp"]
