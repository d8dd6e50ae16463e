"""``esms-baseline windows probe``: the readiness assessment on recorded outputs.

The probe outputs in tests/data/windows/probe-*.json were WRITTEN from the documented
properties (tests/data/windows/README.md), not captured on a host: nothing here has run on
Windows. The real run is tests/integration/test_windows.py (ESMS_WINDOWS_HOST).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from esms_baseline.cli import main
from esms_baseline.windows import desired_state
from esms_baseline.windows.collect import MAX_COMMAND_CHARS, powershell_command
from esms_baseline.windows.connection import WinRMSettings
from esms_baseline.windows.probe import (
    PROBE_SCRIPT,
    assess,
    client_checks,
    parse_probe,
    probe_source,
    render_table,
    run_probe,
)
from tests.unit.test_windows_desired import windows_vars
from tests.unit.test_windows_rules import fresh_facts, hardened_facts

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "windows"
VARS = windows_vars("pc-soins-01")
DESIRED = desired_state(VARS)
SAFE = WinRMSettings(host="pc-soins-rdc.tilleuls.lan", port=5986, scheme="https",
                     transport="ntlm", user="esms-admin", password="x",
                     ca_trust_path="/etc/esms-baseline/ca/infogerance-winrm-ca.pem")


def probe(name: str) -> dict[str, Any]:
    return parse_probe((DATA / name).read_bytes())


def statuses(report: Any) -> dict[str, str]:
    return {c.name: c.status for c in report.checks}


def test_ready_french_pc_and_every_setting_from_to() -> None:
    r = assess("pc-soins-rdc", SAFE, probe("probe-ready-fr.json"), fresh_facts(VARS), DESIRED)
    assert r.ready, render_table(r)
    st = statuses(r)
    assert st["admin"] == st["powershell"] == st["edition"] == st["defender"] == "ok"
    assert st["language"] == "info"
    lang = next(c for c in r.checks if c.name == "language").detail
    assert "fr-FR" in lang and "code page 850" in lang
    settings = {s.setting: s for s in r.settings}
    inactivity = settings[r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System"
                          r"\InactivityTimeoutSecs"]
    assert (inactivity.current, inactivity.desired, inactivity.would_change) == (
        "absent", "DWord 300", True)
    # every registry, user-hive, secedit and firewall-profile value is listed
    assert {s.control for s in r.settings} >= {"ESMS-LOCK-04", "ESMS-PWD-01", "ESMS-PWD-02",
                                                 "ESMS-PWD-04", "ESMS-UPD-01", "ESMS-UPD-03",
                                                 "ESMS-FW-01", "ESMS-ACC-05", "ESMS-BAN-01"}
    assert any(s.setting.startswith("HKU\\.DEFAULT\\") for s in r.settings)
    lockout = settings["secedit [System Access] LockoutDuration"]
    assert (lockout.current, lockout.desired) == ("10", "15")
    doc = r.to_dict()
    assert json.loads(json.dumps(doc)) == doc and doc["would_change"] > 10


def test_hardened_host_would_change_nothing() -> None:
    r = assess("pc-soins-rdc", SAFE, probe("probe-ready-fr.json"), hardened_facts(VARS), DESIRED)
    changing = [s for s in r.settings if s.would_change]
    assert changing == [], changing


def test_blocked_server_names_every_reason() -> None:
    r = assess("srv-fichiers", SAFE, probe("probe-blocked-en.json"), None, DESIRED)
    assert not r.ready
    st = statuses(r)
    assert st["admin"] == "block"
    assert st["domain"] == "warn" and st["reboot"] == "warn"
    assert st["winrm-listeners"] == "warn"  # an HTTP listener besides HTTPS
    assert st["read-defender"] == "warn" and st["defender"] == "warn"
    assert st["current-values"] == "warn"
    text = render_table(r)
    assert "NOT READY" in text and "is not an administrator" in text


def test_client_side_refuses_insecure_or_missing_transport_libraries() -> None:
    http = WinRMSettings(host="h", port=5985, scheme="http", transport="ntlm", user="u",
                         password="p", server_cert_validation="ignore")
    assert {c.name: c.status for c in client_checks(http)}["winrm-https"] == "block"
    opted = WinRMSettings(host="h", port=5985, scheme="http", transport="ntlm", user="u",
                          password="p", weaker_reason="lab network, isolated")
    assert {c.name: c.status for c in client_checks(opted)}["winrm-https"] == "warn"
    kerb = WinRMSettings(host="h", port=5986, scheme="https", transport="kerberos", user=None)
    out = {c.name: c for c in client_checks(kerb, has_module=lambda m: False)}
    assert out["winrm-transport"].status == "block"
    assert "esms-baseline[kerberos]" in out["winrm-transport"].detail
    assert {c.name: c.status for c in client_checks(kerb, has_module=lambda m: True)}[
        "winrm-transport"] == "ok"


class RecordedHost:
    """Replays recorded outputs for the two commands the probe sends (a stand-in for the
    testinfra WinRM host: it checks which script was sent, not how WinRM carries it)."""

    def __init__(self, outputs: list[str]) -> None:
        self.outputs = outputs
        self.commands: list[str] = []

    def run(self, command: str) -> Any:
        self.commands.append(command)

        class R:
            rc = 0
            stdout = self.outputs[len(self.commands) - 1]
            stderr = ""
        return R()


def test_run_probe_sends_the_probe_then_the_collector() -> None:
    facts = fresh_facts(VARS)
    host = RecordedHost([(DATA / "probe-ready-fr.json").read_text(), json.dumps(facts)])
    r = run_probe("pc-soins-rdc", SAFE, DESIRED, host=host)
    assert r.ready and len(host.commands) == 2
    assert host.commands[0] == powershell_command(probe_source(), "probe.ps1")


def test_unreachable_host_blocks_with_the_reason() -> None:
    class Down:
        def run(self, command: str) -> Any:
            raise ConnectionError("HTTPSConnectionPool: certificate verify failed")

    r = run_probe("pc-soins-rdc", SAFE, DESIRED, host=Down())
    assert not r.ready
    assert "certificate verify failed" in next(c.detail for c in r.checks
                                              if c.name == "winrm-connection")


def test_probe_script_is_read_only_and_fits_a_command_line() -> None:
    text = PROBE_SCRIPT.read_text(encoding="utf-8")
    code = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
    writes = re.findall(r"\b(Set-\w+|New-Item\w*|Remove-\w+|Register-\w+|Enable-\w+|"
                        r"Disable-\w+|Start-Service|Stop-\w+|reg(?:\.exe)? (?:add|delete|load))",
                        code, re.IGNORECASE)
    assert writes == []
    assert len(powershell_command(probe_source(), "probe.ps1")) <= MAX_COMMAND_CHARS
    # every cmdlet/class it uses has its Microsoft Learn reference in the header
    for used in ("Get-MpComputerStatus", "Win32_OperatingSystem", "Win32_ComputerSystem",
                 "Microsoft.Update.SystemInfo", "WSMan:", "IsInRole"):
        assert used in code
        assert used.split(":")[0].split(".")[-1].lower() in text.split("$ErrorActionPreference")[0].lower()


def test_cli_refuses_a_debian_host_and_a_missing_password(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESMS_WINRM_PASSWORD", raising=False)
    profile = str(ROOT / "examples" / "site-mixed.yml")
    assert main(["windows", "probe", profile, "srv-dui"]) == 2
    assert "not a Windows one" in capsys.readouterr().err
    assert main(["windows", "probe", profile, "pc-soins-rdc"]) == 2
    assert "ESMS_WINRM_PASSWORD" in capsys.readouterr().err


def test_kerberos_and_credssp_extras_are_installable_from_the_project() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(r.startswith("pywinrm[kerberos]") for r in extras["kerberos"])
    assert any(r.startswith("pywinrm[credssp]") for r in extras["credssp"])


def test_scripts_have_no_here_strings_so_comment_lines_can_be_stripped() -> None:
    """powershell_command drops full-line comments before sending a script; a here-string
    (@' '@ / @" "@) could hold a line starting with # that is data."""
    from esms_baseline.windows.collect import COLLECTOR

    for path in (PROBE_SCRIPT, COLLECTOR):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"@['\"]\s*$", text, re.MULTILINE), path


def test_probe_rows_for_accounts_rules_antivirus_backups_from_the_rules() -> None:
    """The CLI adds one row per account/firewall-rule/antivirus/backup control, as the
    conformance rule reads the facts (a fresh PC: changes; a hardened one: none)."""
    from esms_baseline.cli.windows_cmd import CONTROL_ROWS, control_settings

    fresh = assess("pc-soins-rdc", SAFE, probe("probe-ready-fr.json"), fresh_facts(VARS), DESIRED,
                   extra=lambda f: control_settings(f, VARS))
    rows = {s.control: s for s in fresh.settings if s.control in CONTROL_ROWS}
    assert rows["ESMS-ACC-02"].would_change and "accueil" in rows["ESMS-ACC-02"].setting
    assert rows["ESMS-FW-03"].would_change and rows["ESMS-BAK-01"].would_change
    hardened = control_settings(hardened_facts(VARS), VARS)
    assert [r for r in hardened if r.would_change] == []
    assert {r.control for r in hardened} == set(CONTROL_ROWS)


def test_listener_certificate_close_to_expiry_is_a_warning() -> None:
    import datetime as dt

    from esms_baseline.windows.probe import host_checks

    now = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    checks = {c.name: c for c in host_checks(probe("probe-blocked-en.json"), DESIRED, now)}
    assert checks["winrm-certificate"].status == "warn" and "2026-12-05" in checks["winrm-certificate"].detail
    assert "winrm-certificate" not in {c.name for c in host_checks(probe("probe-ready-fr.json"), DESIRED, now)}
