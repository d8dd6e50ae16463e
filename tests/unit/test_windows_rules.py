"""Windows conformance rules on collector documents built from the format samples: a host
after the baseline passes every control; a fresh Windows host fails them; each failure says
what was found and what was expected. Expected values come from desired_state (same source
as the tasks)."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest

from esms_baseline.conformance.model import Outcome
from esms_baseline.conformance.rules import windows as rules
from esms_baseline.conformance.rules._util import FactsUnavailable
from esms_baseline.windows import desired_state
from tests.unit.test_windows_desired import windows_vars

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "windows"
HOST = "pc-bureau-01"
SID = "S-1-5-21-1004336348-1177238915-682003330"


def _user(name: str, rid: int, *, disabled: bool = False, full_name: str = "",
          never_expires: bool = False, not_required: bool = False, age: int = 10,
          expired: bool = False) -> dict[str, Any]:
    return {"name": name, "sid": f"{SID}-{rid}", "full_name": full_name, "disabled": disabled,
            "password_not_required": not_required, "password_never_expires": never_expires,
            "password_expired": expired, "password_age_days": age}


def _member(name: str, rid: int, computer: str = "PC-BUREAU-01") -> dict[str, Any]:
    return {"name": f"{computer}\\{name}", "sid": f"{SID}-{rid}"}


def _rule(display: str, port: str, remote: str | list[str] = "Any", proto: str = "TCP",
          group: str = "", program: str | None = None) -> dict[str, Any]:
    remote_list: list[str] = remote if isinstance(remote, list) else [remote]
    return {"name": "{" + display + "}", "display_name": display, "group": group, "profile": "Any",
            "protocol": proto, "local_port": [port], "remote_address": remote_list, "program": program}


def _backup_facts(d: Any) -> dict[str, Any]:
    """The collector's backup section of a Windows host the role configured, backed up 3 h
    ago, canary restored intact."""
    if d.backup is None:
        return {"configured": False, "now": 1732000000}
    b = d.backup.to_dict()
    canary_sha = "9f" * 32
    return {
        "configured": True, "now": 1732000000,
        "config": {"repository": b["repository"], "sftp_command": b["sftp_command"],
                   "host": "pc-soins-01", "restic": r"C:\Program Files\restic\restic.exe",
                   "keep_daily": str(b["keep_daily"]), "keep_weekly": str(b["keep_weekly"]),
                   "keep_monthly": str(b["keep_monthly"])},
        "paths": [*b["paths"], b["canary"]],
        "password_file": {"exists": True, "size": 32, "access": ["S-1-5-18", "S-1-5-32-544"]},
        "task": {"state": "Ready", "user": "SYSTEM", "starts": [f"2026-01-01T{b['schedule']}:00"],
                 "last_result": 0, "last_run": "2024-11-19T00:30:05.0000000Z"},
        "last_run": {"started": "2024-11-19T00:30:05Z", "finished": "2024-11-19T00:41:12Z",
                     "backup_exit": 0, "forget_exit": 0},
        "canary": {"exists": True, "sha256": canary_sha},
        "snapshots": {"ok": True, "latest": {"time": "2024-11-19T05:53:20.123456789Z",
                                             "short_id": "4f2a9c1e"}},
        "restore": {"ok": True, "sha256": canary_sha},
    }


def _providers(name: str) -> dict[str, Any]:
    section: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))["providers"]
    return section


def hardened_facts(variables: dict[str, Any]) -> dict[str, Any]:
    d = desired_state(variables)
    registry: list[dict[str, Any]] = [
        {"path": r.path, "name": r.name, "exists": True,
         "type": "DWord" if r.type == "dword" else "String", "data": r.data}
        for r in d.registry
    ]
    registry.append({"path": r"HKLM:\SOFTWARE\Policies\Microsoft\Windows Defender\Real-Time Protection",
                     "name": "DisableRealtimeMonitoring", "exists": False, "type": None, "data": None})
    fw = [_rule(r.name, str(r.port), r.remote, r.protocol.upper(), "esms-baseline")
          for r in d.firewall_rules]
    fw.append(_rule("Core Networking - Dynamic Host Configuration Protocol (DHCP-In)", "68",
                    proto="UDP", group="@FirewallAPI.dll,-25000",
                    program=r"C:\WINDOWS\system32\svchost.exe"))
    return {
        "platform": "windows", "schema": 1, "errors": {},
        "collected_at": "2024-11-18T18:40:00.0000000Z",
        "os": {"caption": "Microsoft Windows 11 Professionnel", "version": "10.0.22631",
               "build": 22631, "product_type": 1, "computer_name": "PC-BUREAU-01",
               "part_of_domain": False, "domain": "WORKGROUP", "domain_role": 0,
               "ps_version": "5.1.22621.4391", "connection_user": "PC-BUREAU-01\\esms-admin",
               "connection_sid": f"{SID}-1001"},
        "secedit_inf_b64": base64.b64encode((DATA / "secedit-hardened-fr.inf").read_bytes()).decode(),
        # [ADSI]"WinNT://<computer>" (IADsDomain): seconds and counts
        "adsi_policy": {"MinPasswordLength": 10, "PasswordHistoryLength": 5,
                        "MaxPasswordAge": -1, "MinPasswordAge": 86400,
                        "MaxBadPasswordsAllowed": 5, "AutoUnlockInterval": 900,
                        "LockoutObservationInterval": 900},
        "registry": registry,
        "user_policies": {"values": [
            {"hive": hive, "name": u.name, "exists": True, "type": "String", "data": u.data}
            for hive in (".DEFAULT", f"{SID}-1002") for u in d.user_registry],
            "profiles_not_loaded": 2},
        "firewall_profiles_json": (DATA / "firewall-profiles-hardened.json").read_text(),
        "firewall_rules": fw,
        "listening": [
            {"protocol": "tcp", "address": "0.0.0.0", "port": 5986, "process": "System"},
            {"protocol": "tcp", "address": "0.0.0.0", "port": 135,
             "process": r"C:\WINDOWS\system32\svchost.exe"},
            {"protocol": "tcp", "address": "0.0.0.0", "port": 8443, "process": r"C:\DUI\agent.exe"},
            {"protocol": "udp", "address": "0.0.0.0", "port": 68,
             "process": r"C:\WINDOWS\system32\svchost.exe"},
            {"protocol": "tcp", "address": "127.0.0.1", "port": 9000, "process": None},
        ],
        "local_users": [
            _user("Administrateur", 500, disabled=True, never_expires=True),
            _user("Invité", 501, disabled=True, not_required=True, never_expires=True),
            _user("DefaultAccount", 503, disabled=True, not_required=True),
            _user("WDAGUtilityAccount", 504, disabled=True),
            _user("esms-admin", 1001, full_name="Infogérance", never_expires=True),
            _user("jmartin", 1002, full_name="Julien Martin", age=30),
            _user("mdupont", 1003, full_name="Marie Dupont", expired=True, age=0),
            _user("pmoreau", 1004, full_name="Pierre Moreau", disabled=True),
            _user("accueil", 1005, disabled=True),
            _user("presta-dui", 1006, full_name="Paul Presta"),
        ],
        "local_groups": [
            {"name": "Administrateurs", "sid": "S-1-5-32-544",
             "members": [_member("Administrateur", 500), _member("esms-admin", 1001),
                         _member("jmartin", 1002)]},
            {"name": "Utilisateurs", "sid": "S-1-5-32-545",
             "members": [_member("jmartin", 1002), _member("mdupont", 1003),
                         _member("presta-dui", 1006)]},
            {"name": "administratif", "sid": f"{SID}-1010", "members": [_member("jmartin", 1002)]},
            {"name": "soignants", "sid": f"{SID}-1011", "members": [_member("mdupont", 1003)]},
            {"name": "prestataires", "sid": f"{SID}-1012",
             "members": [_member("presta-dui", 1006)]},
        ],
        # ESMS-PRV-01..03: tests/data/windows/providers-compliant.json (written, not captured)
        "providers": _providers("providers-compliant.json")
        | {"security_log": {"max_bytes": 196608 * 1024, "mode": "Circular",
                            "file_bytes": 41943040, "full": False,
                            "oldest": "2024-08-20T07:14:09.0000000Z"}},
        "defender_json": (DATA / "mp-status-fresh.json").read_text(),
        "defender_preferences": {"DisableRealtimeMonitoring": False},
        "backup": _backup_facts(d),
        "updates": {"wuauserv_start_type": "Manual",
                    "last_installed": {"date": "2024-11-13T03:12:40.0000000Z",
                                       "title": "2024-11 Cumulative Update for Windows 11 (KB5046633)"},
                    "last_hotfix": {"id": "KB5046633", "installed_on": "2024-11-13T00:00:00.0000000Z"}},
    }


def fresh_facts(variables: dict[str, Any]) -> dict[str, Any]:
    """A Windows 11 host out of the box (plus a shared 'accueil' admin login), from an old
    image: Windows 11 22H2 Pro, out of support since 2024-10-08 (ESMS-UPD-04)."""
    f = hardened_facts(variables)
    f["os"].update(version="10.0.22621", build=22621)
    for r in f["registry"]:
        r.update(exists=False, type=None, data=None)
    f["secedit_inf_b64"] = base64.b64encode((DATA / "secedit-default-en.inf").read_bytes()).decode()
    f["adsi_policy"] = {"MinPasswordLength": 0, "PasswordHistoryLength": 0,
                        "MaxPasswordAge": 42 * 86400, "MinPasswordAge": 0,
                        "MaxBadPasswordsAllowed": 10, "AutoUnlockInterval": 600,
                        "LockoutObservationInterval": 600}
    for u in f["user_policies"]["values"]:
        u.update(exists=False, type=None, data=None)
    f["firewall_profiles_json"] = (DATA / "firewall-profiles-default.json").read_text()
    f["backup"] = {"configured": False, "now": 1732000000}
    f["firewall_rules"] = [
        _rule("Windows Remote Management (HTTP-In)", "5985", group="@FirewallAPI.dll,-30267",
              program="System"),
        _rule("File and Printer Sharing (SMB-In)", "445", "LocalSubnet", group="@FirewallAPI.dll,-28502",
              program="System"),
        _rule("Remote Desktop - User Mode (TCP-In)", "3389", group="@FirewallAPI.dll,-28752",
              program=r"C:\WINDOWS\system32\svchost.exe"),
    ]
    f["listening"] += [{"protocol": "tcp", "address": "0.0.0.0", "port": 445, "process": "System"},
                       {"protocol": "tcp", "address": "::", "port": 5985, "process": "System"},
                       {"protocol": "tcp", "address": "0.0.0.0", "port": 3389,
                        "process": r"C:\WINDOWS\system32\svchost.exe"}]
    users = {u["name"]: u for u in f["local_users"]}
    users["Invité"]["disabled"] = False
    users["accueil"]["disabled"] = False
    users["pmoreau"]["disabled"] = False
    users["jmartin"]["password_never_expires"] = True
    users["jmartin"]["age"] = 400
    users["jmartin"]["password_age_days"] = 400
    f["local_users"] = [u for u in f["local_users"] if u["name"] != "mdupont"]
    f["local_groups"][0]["members"].append(_member("accueil", 1005))
    f["defender_json"] = (DATA / "mp-status-stale.json").read_text().replace(
        '"RealTimeProtectionEnabled":  true', '"RealTimeProtectionEnabled":  false')
    f["updates"]["wuauserv_start_type"] = "Disabled"
    # an AnyDesk service nobody declared, the provider account without expiry, Windows'
    # default audit policy and a full 20 MiB Security log holding 10 days
    f["providers"] = _providers("providers-no-audit.json")
    f["providers"]["services"].append({"name": "AnyDesk", "display_name": "AnyDesk Service"})
    f["providers"]["users"][3]["expires"] = None
    f["providers"]["security_log"]["oldest"] = "2024-11-08T18:40:00.0000000Z"
    return f


VARS = windows_vars(HOST)


@pytest.mark.parametrize("control", sorted(rules.RULES))
def test_hardened_host_passes(control: str) -> None:
    out = rules.RULES[control](hardened_facts(VARS), VARS)
    assert isinstance(out, Outcome)
    assert out.passed is True, (control, out.message, out.found, out.expected)


@pytest.mark.parametrize("control", sorted(rules.RULES))
def test_fresh_host_fails(control: str) -> None:
    out = rules.RULES[control](fresh_facts(VARS), VARS)
    assert out.passed is False, (control, out.message)
    assert out.message and out.expected


def test_messages_name_the_problem() -> None:
    f = fresh_facts(VARS)
    assert "InactivityTimeoutSecs is not set" in rules.lock_04(f, VARS).message
    assert "minimum length 0 < 10" in rules.pwd_01(f, VARS).message
    assert "lockout duration 10 min < 15" in rules.pwd_02(f, VARS).message
    assert "jmartin: password 400 days old > 365" in rules.pwd_04(f, VARS).message
    assert "mdupont does not exist" in rules.acc_01(f, VARS).message
    assert "accueil" in rules.acc_02(f, VARS).message
    assert "undeclared administrators: PC-BUREAU-01\\accueil" in rules.acc_04(f, VARS).message
    assert "Guest account (Invité) is enabled" in rules.acc_05(f, VARS).message
    assert "Public profile is False" in rules.fw_01(f, VARS).message
    assert "tcp/445" in rules.fw_02(f, VARS).message and "tcp/3389" in rules.fw_02(f, VARS).message
    # 5985 is not a management port of this profile (22, 5986): FW-02 reports it
    assert "tcp/5985" in rules.fw_02(f, VARS).message
    assert "real-time protection is off" in rules.av_01(f, VARS).message
    assert "signatures 9.5 days old > 2" in rules.av_02(f, VARS).message
    assert rules.upd_01(f, VARS).found["last installed update"].startswith("2024-11-13")


def test_domain_member_reports_the_domain_as_source() -> None:
    f = fresh_facts(VARS)
    f["os"]["part_of_domain"] = True
    out = rules.pwd_01(f, VARS)
    assert out.passed is False and out.found["source"] == "domain"
    assert "domain's GPO" in out.message
    ok = hardened_facts(VARS)
    ok["os"]["part_of_domain"] = True
    assert rules.pwd_02(ok, VARS).passed and rules.pwd_02(ok, VARS).found["source"] == "domain"


def test_stricter_than_asked_passes_weaker_fails() -> None:
    f = hardened_facts(VARS)
    inactivity = next(r for r in f["registry"] if r["name"] == "InactivityTimeoutSecs")
    inactivity["data"] = 60
    assert rules.lock_04(f, VARS).passed
    inactivity["data"] = 1800
    out = rules.lock_04(f, VARS)
    assert not out.passed and "1800" in out.message
    inactivity["type"] = "String"
    inactivity["data"] = "900"
    assert "type String" in rules.lock_04(f, VARS).message


def test_management_port_open_to_everyone_fails_fw_03() -> None:
    f = hardened_facts(VARS)
    f["firewall_rules"].append(_rule("Windows Remote Management (HTTPS-In)", "5986",
                                     group="@FirewallAPI.dll,-30267", program="System"))
    out = rules.fw_03(f, VARS)
    assert not out.passed and "tcp/5986" in out.message
    narrow = hardened_facts(VARS)
    narrow["firewall_rules"].append(_rule("Old MSP rule", "5986", "203.0.113.0/255.255.255.128"))
    assert rules.fw_03(narrow, VARS).passed


def test_stale_esms_rule_and_wrong_sources_fail_fw_02() -> None:
    f = hardened_facts(VARS)
    f["firewall_rules"].append(_rule("ESMS old-service", "9999", group="esms-baseline"))
    assert "no longer in the profile: ESMS old-service" in rules.fw_02(f, VARS).message
    g = hardened_facts(VARS)
    next(r for r in g["firewall_rules"] if r["display_name"] == "ESMS dui-agent")["remote_address"] = ["Any"]
    assert "rule 'ESMS dui-agent' is tcp/8443 from Any" in rules.fw_02(g, VARS).message


def test_lockout_not_applicable_without_threshold_and_banner_without_text() -> None:
    v = VARS | {"esms_passwords_lockout_threshold": 0}
    assert rules.pwd_02(hardened_facts(v), v).passed is None
    v = VARS | {"esms_banner_text": ""}
    assert rules.ban_01(hardened_facts(v), v).passed is None


def test_pwd_01_classes_limitation_fails_and_relaxed_length() -> None:
    v = VARS | {"esms_passwords_required_classes": ["upper", "lower", "digit", "special"],
                "esms_passwords_min_classes": 4}
    out = rules.pwd_01(hardened_facts(v), v)
    assert out.passed is False and "3 of 5" in out.message
    v = VARS | {"esms_passwords_min_length": 8}
    assert rules.pwd_01(hardened_facts(v), v).passed
    v16 = VARS | {"esms_passwords_min_length": 16}
    f = hardened_facts(v16)
    f["os"]["build"] = 17763
    out = rules.pwd_01(f, v16)
    assert not out.passed and "build 17763" in out.message


def test_av_01_passive_mode_and_missing_section_is_an_error() -> None:
    f = hardened_facts(VARS)
    f["defender_json"] = (DATA / "mp-status-passive.json").read_text()
    out = rules.av_01(f, VARS)
    assert not out.passed and "Passive Mode" in out.message
    g = copy.deepcopy(hardened_facts(VARS))
    del g["defender_json"]
    g["errors"] = {"defender_json": "Get-MpComputerStatus: not found"}
    with pytest.raises(FactsUnavailable, match="not found"):
        rules.av_01(g, VARS)


# ---------------------------------------------------------------- issue 12 (defects 4-6, 8)


def test_lock_04_screen_saver_is_read_in_user_hives_never_hklm() -> None:
    """The secure screen saver is a user policy (ADMX_ControlPanelDisplay, scope User): the
    rule reads it in HKU\\.DEFAULT and the loaded user hives; values under HKLM are no
    evidence, even when present."""
    f = hardened_facts(VARS)
    assert rules.lock_04(f, VARS).passed
    # the same values written only machine-wide (HKLM\SOFTWARE\Policies): fails
    for u in f["user_policies"]["values"]:
        u.update(exists=False, type=None, data=None)
    f["registry"] += [{"path": r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\Control Panel\Desktop",
                       "name": n, "exists": True, "type": "String", "data": v}
                      for n, v in (("ScreenSaveActive", "1"), ("ScreenSaverIsSecure", "1"),
                                   ("ScreenSaveTimeOut", "300"))]
    out = rules.lock_04(f, VARS)
    assert not out.passed
    assert "ScreenSaverIsSecure is not set in the hive .DEFAULT" in out.message
    assert not any("HKLM" in k and "Control Panel" in k for k in out.found)


def test_lock_04_one_user_hive_weaker_fails_and_missing_section_is_an_error() -> None:
    f = hardened_facts(VARS)
    sid_values = [u for u in f["user_policies"]["values"] if u["hive"] != ".DEFAULT"]
    next(u for u in sid_values if u["name"] == "ScreenSaveTimeOut")["data"] = "3600"
    out = rules.lock_04(f, VARS)
    assert not out.passed and "in the hive S-1-5-21-" in out.message
    assert out.found["user profiles not loaded (not read)"] == 2
    del f["user_policies"]
    with pytest.raises(FactsUnavailable):
        rules.lock_04(f, VARS)


def test_pwd_02_secedit_minus_one_means_until_an_admin_unlocks() -> None:
    """secedit exports LockoutDuration 0 (until an administrator unlocks) as -1: compliant."""
    f = hardened_facts(VARS)
    del f["adsi_policy"]
    inf = (DATA / "secedit-hardened-fr.inf").read_bytes().decode("utf-16")
    inf = inf.replace("LockoutDuration = 15", "LockoutDuration = -1")
    f["secedit_inf_b64"] = base64.b64encode(b"\xff\xfe" + inf.encode("utf-16-le")).decode()
    out = rules.pwd_02(f, VARS)
    assert out.passed, out.message
    assert out.found["LockoutDuration (min)"] == 0
    # the same through ADSI (AutoUnlockInterval "forever")
    f = hardened_facts(VARS)
    f["adsi_policy"]["AutoUnlockInterval"] = -1
    assert rules.pwd_02(f, VARS).passed


def test_password_rules_use_adsi_numbers_not_net_accounts() -> None:
    """The effective policy comes from ADSI numbers (any display language); a French host
    reads the same as an English one and `net accounts` text is not needed."""
    f = hardened_facts(VARS)
    assert "net_accounts" not in f
    assert rules.pwd_01(f, VARS).found["ADSI MinPasswordLength"] == 10
    f["adsi_policy"]["MaxBadPasswordsAllowed"] = 0
    assert "lockout threshold 0" in rules.pwd_02(f, VARS).message


def test_upd_03_needs_the_restart_timer() -> None:
    f = hardened_facts(VARS)
    assert rules.upd_03(f, VARS).passed
    for r in f["registry"]:
        if r["name"] == "AlwaysAutoRebootAtScheduledTimeMinutes":
            r.update(exists=False, type=None, data=None)
    out = rules.upd_03(f, VARS)
    assert not out.passed and "AlwaysAutoRebootAtScheduledTimeMinutes is not set" in out.message



# ---------------------------------------------------------------- ESMS-BAK-01/02 on Windows


def test_bak_windows_password_readable_by_users_stale_snapshot_and_bad_restore() -> None:
    f = hardened_facts(VARS)
    f["backup"]["password_file"]["access"].append("S-1-5-32-545")  # BUILTIN\Users
    f["backup"]["task"]["user"] = "PC-SOINS-01\\esms-admin"
    out = rules.bak_01(f, VARS)
    assert not out.passed
    assert "beyond SYSTEM and Administrators" in out.message and "not SYSTEM" in out.message
    f["backup"]["snapshots"]["latest"]["time"] = "2024-11-17T00:00:00Z"  # 2 days before now
    f["backup"]["restore"]["sha256"] = "00" * 32
    out2 = rules.bak_02(f, VARS)
    assert not out2.passed
    assert "h old (maximum 26 h)" in out2.message and "differs" in out2.message
    f["backup"]["snapshots"] = {"ok": False, "error": "Fatal: unable to open config file"}
    assert "unreachable repository" in rules.bak_02(f, VARS).message


def test_bak_windows_failed_run_and_each_platform_gets_its_paths() -> None:
    f = hardened_facts(VARS)
    f["backup"]["last_run"]["backup_exit"] = 1
    assert "the last backup failed" in rules.bak_01(f, VARS).message
    f["backup"]["last_run"]["backup_exit"] = 3  # some files unreadable: snapshot written
    assert rules.bak_01(f, VARS).passed
    assert VARS["esms_backup_paths"] == ["C:\\Users\\Public\\Documents", "D:\\Partages"]
    assert windows_vars("srv-01")["esms_backup_paths"] == ["/srv/partage"]
