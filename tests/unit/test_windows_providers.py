"""ESMS-PRV-01..03 on Windows, on the collector's ``providers`` section recorded in
tests/data/windows/providers-*.json (written from the documented properties, not captured:
tests/data/windows/README.md): a compliant host, an undeclared AnyDesk service, an ended
provider access whose account is still enabled, Windows' default audit policy. Before issue
14's Windows part these controls had no Windows rule (``RULES["windows"]`` had no PRV key)
and every test here failed; the apply side (roles/esms_providers/tasks/windows/) goes through
Ansible's controller-side machinery in tests/unit/test_windows_playbook_offline.py."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from esms_baseline.conformance.messages import translate, untranslated
from esms_baseline.conformance.model import Outcome
from esms_baseline.conformance.rules import RULES
from esms_baseline.conformance.rules._util import FactsUnavailable
from esms_baseline.windows.providers import AUDIT_SUBCATEGORIES, REMOTE_TOOLS, match_remote_tools
from tests.unit.test_windows_rules import VARS, hardened_facts

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "windows"
TASKS = ROOT / "roles" / "esms_providers" / "tasks" / "windows"
COLLECTOR = ROOT / "esms_baseline" / "conformance" / "collectors" / "windows.ps1"


def facts(sample: str) -> dict[str, Any]:
    """A hardened host's facts with the recorded providers section and listeners."""
    rec = json.loads((DATA / f"providers-{sample}.json").read_text(encoding="utf-8"))
    f = hardened_facts(VARS)
    f.update(providers=rec["providers"], listening=rec["listening"],
             collected_at=rec["collected_at"])
    return f


def run(control: str, f: dict[str, Any], variables: dict[str, Any] | None = None) -> Outcome:
    out = RULES["windows"][control](f, variables if variables is not None else VARS)
    # every message of these rules reads in French (the director's report)
    assert untranslated(out.message) == [], out.message
    return out


def ended_vars(until: str = "2026-10-31", **extra: Any) -> dict[str, Any]:
    v = copy.deepcopy(VARS)
    v["esms_providers_accounts"][0].update(access_until=until, **extra)
    return v


@pytest.mark.parametrize("control", ["ESMS-PRV-01", "ESMS-PRV-02", "ESMS-PRV-03"])
def test_compliant_sample_passes(control: str) -> None:
    out = run(control, facts("compliant"))
    assert out.passed is True, out.message


def test_undeclared_anydesk_service_fails_naming_it() -> None:
    out = run("ESMS-PRV-02", facts("anydesk-undeclared"))
    assert out.passed is False
    assert out.message == ("undeclared remote-control software: anydesk "
                           "(services: AnyDesk - ports: 7070)")
    assert "non déclaré : anydesk" in translate(out.message, "fr")
    # declared by a provider of this host: passes; nothing in the rule removes anything
    v = copy.deepcopy(VARS)
    v["esms_providers_remote_tools"] = ["anydesk", "teamviewer"]
    assert run("ESMS-PRV-02", facts("anydesk-undeclared"), v).passed is True


def test_ended_access_with_the_account_still_enabled_fails() -> None:
    f = facts("expired-enabled")
    out = run("ESMS-PRV-01", f, ended_vars())
    assert out.passed is False
    assert out.message == ("presta-dui (Editeur DUI): access ended on 2026-10-31 but the "
                           "account is enabled")
    assert out.expected["presta-dui"]["account"] == "expired, disabled"
    assert translate(out.message, "fr").endswith("mais le compte est actif")
    assert out.found["presta-dui"] == {"expires": "2026-11-01T00:00:00", "locked": False}
    # disabled (never deleted): passes, and the report's providers section shows it locked
    f["providers"]["users"][3]["enabled"] = False
    out = run("ESMS-PRV-01", f, ended_vars())
    assert out.passed is True and out.found["presta-dui"]["locked"] is True
    # the same enabled account while the access runs: its expiry is the one judged
    assert run("ESMS-PRV-01", facts("expired-enabled")).message.startswith(
        "presta-dui (Editeur DUI): account expiry 2026-11-01T00:00:00 instead of "
        "2027-07-01T00:00:00")


def test_missing_audit_policy_and_small_security_log_fail() -> None:
    out = run("ESMS-PRV-03", facts("no-audit"))
    assert out.passed is False
    assert out.message.split("; ") == [
        "audit policy Logon is no auditing, not success and failure",
        "audit policy Special Logon is success, not success and failure",
        "Security log maximum size 20480 KiB is below 196608 KiB",
        "Security log is full and holds 10 days, less than 180: increase its size"]
    assert out.found["security_log_days_held"] == 10


@pytest.mark.parametrize(("expires", "ok"), [
    ("2027-07-01T00:00:00", True),
    # win_user account_expires: "2027-07-01" is 00:00 UTC, 01:00 or 02:00 in Paris
    ("2027-07-01T02:00:00", False),
    ("2027-06-30T00:00:00", False),  # the last day of access cut
    (None, False),
])
def test_expiry_is_midnight_local_the_day_after_the_last_day(expires: str | None,
                                                              ok: bool) -> None:
    f = facts("compliant")
    f["providers"]["users"][3]["expires"] = expires
    assert run("ESMS-PRV-01", f).passed is ok


def test_account_on_a_host_the_provider_does_not_reach_must_be_disabled() -> None:
    v = ended_vars(until="2027-06-30", reaches=False)
    out = run("ESMS-PRV-01", facts("compliant"), v)
    assert out.passed is False and "no access to this host" in out.message
    f = facts("compliant")
    f["providers"]["users"][3]["enabled"] = False
    assert run("ESMS-PRV-01", f, v).passed is True


def test_absent_account_fails_only_while_the_access_runs() -> None:
    f = facts("compliant")
    del f["providers"]["users"][3]
    assert run("ESMS-PRV-01", f).message == "provider account presta-dui (Editeur DUI) is missing"
    assert run("ESMS-PRV-01", f, ended_vars()).passed is True


def test_no_provider_account_is_not_applicable() -> None:
    v = copy.deepcopy(VARS)
    v["esms_providers_accounts"] = []
    assert run("ESMS-PRV-01", facts("compliant"), v).passed is None


def test_local_accounts_not_read_is_an_error_not_missing_accounts() -> None:
    f = facts("compliant")
    f["providers"]["users"] = None  # Get-LocalUser failed (a domain controller has no SAM)
    with pytest.raises(FactsUnavailable):
        RULES["windows"]["ESMS-PRV-01"](f, VARS)
    assert run("ESMS-PRV-02", f).passed is True


@pytest.mark.parametrize("today", [None, "", "30/11/2026", "2026-11-30\n"])
def test_unreadable_host_date_is_an_error_not_a_verdict(today: Any) -> None:
    f = facts("compliant")
    f["providers"]["today"] = today
    with pytest.raises(FactsUnavailable):
        RULES["windows"]["ESMS-PRV-01"](f, VARS)


def test_retain_mode_loses_new_events_and_autobackup_is_accepted() -> None:
    f = facts("compliant")
    f["providers"]["security_log"]["mode"] = "Retain"
    assert "new events are lost" in run("ESMS-PRV-03", f).message
    f["providers"]["security_log"]["mode"] = "AutoBackup"
    assert run("ESMS-PRV-03", f).passed is True


def test_log_not_full_yet_passes_full_and_long_enough_passes() -> None:
    f = facts("no-audit")
    f["providers"]["audit"] = facts("compliant")["providers"]["audit"]
    log = f["providers"]["security_log"]
    log.update(max_bytes=196608 * 1024, file_bytes=196608 * 1024,
               oldest="2026-05-01T00:00:00.0000000Z")
    assert run("ESMS-PRV-03", f).passed is True  # full, 213 days
    log.update(file_bytes=1024 * 1024, oldest="2026-11-29T00:00:00.0000000Z")
    assert run("ESMS-PRV-03", f).passed is True  # 1 day so far, not full: nothing to judge


def test_audit_read_by_guid_not_by_localised_name() -> None:
    f = facts("compliant")
    assert {r["guid"] for r in f["providers"]["audit"]} >= set(AUDIT_SUBCATEGORIES.values())
    f["providers"]["audit"] = [r for r in f["providers"]["audit"]
                               if r["guid"] != AUDIT_SUBCATEGORIES["Special Logon"]]
    assert "audit policy Special Logon is absent" in run("ESMS-PRV-03", f).message
    f["providers"]["audit"] = []
    with pytest.raises(FactsUnavailable):
        RULES["windows"]["ESMS-PRV-03"](f, VARS)


def test_vnc_listener_only_is_covered_by_any_declared_vnc_tool() -> None:
    f = facts("compliant")
    f["listening"].append({"protocol": "tcp", "address": "127.0.0.1", "port": 5900,
                           "process": None})
    assert "vnc (ports: 5900)" in run("ESMS-PRV-02", f).message
    v = copy.deepcopy(VARS)
    v["esms_providers_remote_tools"] = ["teamviewer", "tightvnc"]
    assert run("ESMS-PRV-02", f, v).passed is True
    # a UDP 5900 endpoint is not a VNC server
    assert match_remote_tools({}, [{"protocol": "udp", "port": 5900}]) == {}


def test_tool_names_are_the_profile_s_and_the_role_patterns_are_the_table_s() -> None:
    from esms_baseline.profile.schema import load_schema

    enum = load_schema()["$defs"]["provider"]["properties"]["tools"]["items"]["enum"]
    assert set(REMOTE_TOOLS) <= set(enum)
    task = yaml.safe_load((TASKS / "ESMS-PRV-02.yml").read_text(encoding="utf-8"))
    pairs = {tuple(p) for p in task[0]["vars"]["esms_providers_windows_tool_patterns"]}
    table = {(t, pat) for t, spec in REMOTE_TOOLS.items()
             for pat in spec["programs"] + spec["services"]}
    assert pairs == table
    for _tool, pat in pairs:
        re.compile(pat)  # the same syntax for .NET -match and Python re here (no lookbehind)


def test_tasks_set_the_guids_the_check_reads_and_the_collector_reads_them() -> None:
    task = yaml.safe_load((TASKS / "ESMS-PRV-03.yml").read_text(encoding="utf-8"))
    task = [t for t in task if "ansible.builtin.assert" not in t]
    audit = task[0]["ansible.windows.win_powershell"]
    assert audit["parameters"]["Guids"] == AUDIT_SUBCATEGORIES
    assert "win_audit_policy_system" not in (TASKS / "ESMS-PRV-03.yml").read_text(
        encoding="utf-8").split("- name:", 1)[1]
    eventlog = task[1]["ansible.windows.win_eventlog"]
    assert eventlog["overflow_action"] == "OverwriteAsNeeded" and "retention_days" not in eventlog
    ps = COLLECTOR.read_text(encoding="utf-8")
    for needle in ("Invoke-Section 'providers'", "Get-LocalUser", "Invoke-Native 'auditpol.exe' @('/backup'",
                   r"HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\*",
                   "Win32_Service", "Get-WinEvent -ListLog Security"):
        assert needle in ps, needle


def test_probe_shows_the_providers_rows() -> None:
    """`esms-baseline windows probe` prints the PRV rows as the rules read the host."""
    from esms_baseline.cli.windows_cmd import control_settings

    rows = {r.control: r for r in control_settings(facts("anydesk-undeclared"), VARS)}
    assert rows["ESMS-PRV-02"].would_change is True
    assert "anydesk" in rows["ESMS-PRV-02"].setting
    assert rows["ESMS-PRV-01"].would_change is False and rows["ESMS-PRV-03"].would_change is False
    del_audit = facts("compliant")
    del_audit["providers"]["audit"] = []
    rows = {r.control: r for r in control_settings(del_audit, VARS)}
    assert rows["ESMS-PRV-03"].setting == "(not readable)"


def test_report_providers_section_reads_the_windows_result() -> None:
    """The director's "Accès des prestataires" section (report/sector.py) reads PRV-01's
    found/expected: a disabled Windows account shows locked, with its expiry."""
    import datetime as dt
    from types import SimpleNamespace

    from esms_baseline.report.sector import provider_accesses

    f = facts("expired-enabled")
    f["providers"]["users"][3]["enabled"] = False
    out = run("ESMS-PRV-01", f, ended_vars())
    res = SimpleNamespace(control="ESMS-PRV-01", expected=out.expected, found=out.found,
                          host="pc-bureau-01")
    model: Any = SimpleNamespace(rows=[SimpleNamespace(result=res)],
                                 result=SimpleNamespace(started=dt.datetime(2026, 11, 30, 9, 0)))
    (access,) = provider_accesses(model)
    assert (access.login, access.ended, access.locked) == ("presta-dui", True, True)
    assert access.account == "expires 2026-11-01T00:00:00, locked"


def test_check_mode_leaves_no_temporary_file_behind() -> None:
    """win_powershell runs a SupportsShouldProcess script with -WhatIf in check mode, which sets
    $WhatIfPreference for every cmdlet the script calls (Microsoft Learn, "Everything you
    wanted to know about ShouldProcess"): a Remove-Item without -WhatIf:$false only prints
    "What if" and the file stays. Every file the providers' scripts write goes under
    $Ansible.Tmpdir (removed by the module) and is removed with -WhatIf:$false."""
    for path in sorted(TASKS.glob("*.yml")):
        for task in yaml.safe_load(path.read_text(encoding="utf-8")):
            script = (task.get("ansible.windows.win_powershell") or {}).get("script", "")
            if "SupportsShouldProcess" not in script:
                continue
            for line in script.splitlines():
                line = line.split("#", 1)[0]  # code, not comments
                if re.search(r"\bRemove-Item\b", line):
                    assert "-WhatIf:$false" in line, (path.name, line)
                assert "$env:TEMP" not in line, (path.name, line)


def test_winvnc4_service_is_a_vnc_server() -> None:
    """RealVNC 4 and older TigerVNC builds register the service "WinVNC4" (TigerVNC
    win/winvnc/VNCServerService.cxx), display name "VNC Server Version 4": neither the
    RealVNC nor the TigerVNC patterns matched it; it is the generic vnc tool."""
    seen = match_remote_tools({"services": [{"name": "WinVNC4",
                                             "display_name": "VNC Server Version 4"}]}, [])
    assert seen == {"vnc": {"programs": [], "services": ["WinVNC4"], "ports": []}}
    assert match_remote_tools({"services": [{"name": "WinVNC4Helper", "display_name": "x"}]},
                              []) == {}


def test_collector_host_date_is_gregorian_whatever_the_culture() -> None:
    """'yyyy-MM-dd' follows the current culture's calendar (a Thai Buddhist calendar gives
    2569): the host's date the PRV-01 rule judges with is formatted with the invariant
    culture."""
    line = next(ln for ln in COLLECTOR.read_text(encoding="utf-8").splitlines()
                if "today = (Get-Date)" in ln)
    assert "ToString('yyyy-MM-dd', [Globalization.CultureInfo]::InvariantCulture)" in line


@pytest.mark.parametrize(("kib", "ok"), [(196608, True), (64, True), (4194240, True),
                                         (100, False), (0, False), (4194304, False)])
def test_security_log_size_is_refused_before_win_eventlog_would(kib: int, ok: bool) -> None:
    """win_eventlog fails at run time on a size outside 64 KB..4 GB or not a multiple of
    64 KB (ConvertTo-MaximumSize); the role's assert refuses it first, evaluated here by
    Ansible's real templar."""
    from tests.unit.ansible_render import condition, task

    t = task("esms_providers/tasks/windows/ESMS-PRV-03.yml",
             "ESMS-PRV-03 | Refuse a Security log size win_eventlog cannot set")
    that = t["ansible.builtin.assert"]["that"]
    v = {"esms_providers_windows_security_log_kib": kib}
    assert all(condition(c, v) for c in that) is ok
