"""Windows enforcement on a REAL Windows host over WinRM: apply, check, idempotence, drift.

Runs only when a host is given (otherwise every test is skipped with the reason):

  ESMS_WINDOWS_HOST      address of a throwaway Windows 10/11 or Server 2022 host
  ESMS_WINDOWS_USER      a local administrator used as the management account
  ESMS_WINDOWS_PASSWORD  its password (read from the environment only)
  ESMS_WINDOWS_CA        optional: CA bundle of the WinRM HTTPS listener's certificate
  ESMS_WINDOWS_MGMT_CIDR optional: the control machine's source CIDR (default: the local
                         address used to reach the host, /32)
  ESMS_WINDOWS_BACKUP_REPO optional: a throwaway restic repository (with ESMS_BACKUP_PASSWORD)
                         to exercise ESMS-BAK-01/02; without it backups are off

The host is CHANGED (policies, firewall, local accounts): never point this at a production
machine. Connection: HTTPS 5986, certificate validated, NTLM, as in the example inventory.
Never run here so far: see docs/windows.md.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from esms_baseline.conformance.rules.windows import RULES
from esms_baseline.plan import build_plan
from esms_baseline.profile import load_profile
from esms_baseline.windows.collect import run_collector, winrm_host
from esms_baseline.windows.connection import WinRMSettings, settings_from_hostvars
from esms_baseline.windows.plan_additions import contract_additions, windows_additions

pytestmark = [pytest.mark.windows, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "tests" / "data" / "playbooks" / "windows-syntax.yml"
NAME = "win-target"
_ENV = ("ESMS_WINDOWS_HOST", "ESMS_WINDOWS_USER", "ESMS_WINDOWS_PASSWORD")


def _skip_reason() -> str | None:
    missing = [e for e in _ENV if not os.environ.get(e)]
    return f"needs a real Windows host: set {', '.join(missing)}" if missing else None


@dataclass
class Target:
    workdir: Path
    hostvars: dict[str, Any]
    vars: dict[str, Any]
    settings: WinRMSettings


def _source_cidr(host: str) -> str:
    given = os.environ.get("ESMS_WINDOWS_MGMT_CIDR")
    if given:
        return given
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((host, 5986))
        return f"{s.getsockname()[0]}/32"


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    host = os.environ["ESMS_WINDOWS_HOST"]
    user = os.environ["ESMS_WINDOWS_USER"]
    work = tmp_path_factory.mktemp("windows")
    hostvars: dict[str, Any] = {
        "ansible_connection": "winrm", "ansible_host": host, "ansible_port": 5986,
        "ansible_winrm_scheme": "https", "ansible_winrm_transport": "ntlm",
        "ansible_winrm_server_cert_validation": "validate", "ansible_user": user,
        "ansible_password": "{{ lookup('ansible.builtin.env', 'ESMS_WINDOWS_PASSWORD') }}",
    }
    if os.environ.get("ESMS_WINDOWS_CA"):
        hostvars["ansible_winrm_ca_trust_path"] = os.environ["ESMS_WINDOWS_CA"]
    profile_doc = yaml.safe_load((ROOT / "tests/data/windows/site-windows.yml").read_text())
    profile_doc["inventory"] = {"hosts": {NAME: {"groups": ["postes_soins"], "platform": "windows",
                                                 "vars": {**hostvars, "ansible_password":
                                                          {"env": "ESMS_WINDOWS_PASSWORD"}}}},
                                "groups": {"postes_soins": {"session_lock": {"idle_minutes": 5}}}}
    profile_doc["accounts"]["management_account"] = user.lower()
    profile_doc["accounts"]["users"] = [
        {"login": "esmstest1", "full_name": "Test Un", "groups": ["soignants"],
         "initial_password": {"env": "ESMS_WINDOWS_TEST_USER_PASSWORD"}},
        {"login": "esmstest2", "full_name": "Test Deux", "groups": ["administratif"],
         "state": "departed"},
        # ESMS-PRV-01: a provider's account, expiring the day after its access ends
        {"login": "esmstest3", "full_name": "Test Presta", "groups": ["prestataires"],
         "provider": "Editeur DUI",
         "initial_password": {"env": "ESMS_WINDOWS_TEST_PROVIDER_PASSWORD"}}]
    profile_doc["providers"][0]["accounts"] = ["esmstest3"]
    profile_doc["accounts"]["admins"] = []
    profile_doc["firewall"]["management"] = {"sources": [_source_cidr(host)], "ports": [5986]}
    # backups only towards a real test repository (ESMS_WINDOWS_BACKUP_REPO, password in
    # ESMS_BACKUP_PASSWORD; restic.exe installed on the host)
    repo = os.environ.get("ESMS_WINDOWS_BACKUP_REPO")
    profile_doc["backup"]["enabled"] = bool(repo)
    if repo:
        profile_doc["backup"]["repository"] = repo
    (work / "site.yml").write_text(yaml.safe_dump(profile_doc, allow_unicode=True))
    profile = load_profile(work / "site.yml")
    plan = build_plan(profile)
    v = dict(plan.host(NAME).vars)
    v.update(contract_additions(profile, NAME))
    v.update(windows_additions(v))
    settings = settings_from_hostvars(NAME, hostvars, os.environ)
    yield Target(work, hostvars, v, settings)


def _apply(t: Target) -> dict[str, Any]:
    inv = t.workdir / "inventory.yml"
    inv.write_text(yaml.safe_dump({"windows": {"hosts": {NAME: t.hostvars}}}))
    extra = t.workdir / "vars.json"
    extra.write_text(json.dumps(t.vars))
    env = os.environ | {"ANSIBLE_ROLES_PATH": str(ROOT / "roles"), "ANSIBLE_STDOUT_CALLBACK": "json",
                        "ESMS_WINDOWS_TEST_USER_PASSWORD": os.environ.get(
                            "ESMS_WINDOWS_TEST_USER_PASSWORD", "Esms-Test-Initial-42!"),
                        "ESMS_WINDOWS_TEST_PROVIDER_PASSWORD": os.environ.get(
                            "ESMS_WINDOWS_TEST_PROVIDER_PASSWORD", "Esms-Presta-Initial-43!"),
                        "ANSIBLE_NOCOLOR": "1"}
    exe = Path(sys.executable).parent / "ansible-playbook"
    proc = subprocess.run([str(exe), "-i", str(inv), "-e", f"@{extra}", str(PLAYBOOK)],
                          capture_output=True, text=True, env=env, check=False, timeout=1800)
    out: dict[str, Any] = json.loads(proc.stdout)
    assert proc.returncode == 0, json.dumps(out.get("stats"), indent=1) + proc.stderr[-2000:]
    return out


def _check(t: Target) -> dict[str, Any]:
    facts = run_collector(t.settings)
    assert not facts.get("errors"), facts["errors"]
    return {cid: rule(facts, t.vars) for cid, rule in RULES.items()}


def test_probe_is_ready_and_lists_every_setting(target: Target) -> None:
    """esms-baseline windows probe, for real, before the first apply (read-only)."""
    from esms_baseline.windows.desired import desired_state
    from esms_baseline.windows.probe import render_table, run_probe

    report = run_probe(NAME, target.settings, desired_state(target.vars))
    assert report.ready, render_table(report)
    assert any(s.setting.endswith("InactivityTimeoutSecs") for s in report.settings)
    assert any(s.setting.startswith("HKU\\.DEFAULT\\") for s in report.settings)


def test_apply_then_every_control_passes(target: Target) -> None:
    _apply(target)
    outcomes = _check(target)
    failed = {c: o.message for c, o in outcomes.items() if o.passed is False}
    assert failed == {}


def test_second_apply_changes_nothing(target: Target) -> None:
    out = _apply(target)
    assert out["stats"][NAME]["changed"] == 0, out["stats"]


def test_drift_is_detected_then_repaired(target: Target) -> None:
    host = winrm_host(target.settings)
    res = host.run(
        "powershell.exe -NoProfile -NonInteractive -Command "
        "Set-ItemProperty -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System' "
        "-Name InactivityTimeoutSecs -Value 3600 -Type DWord")
    assert res.rc == 0, res.stderr
    outcomes = _check(target)
    assert outcomes["ESMS-LOCK-04"].passed is False
    assert "3600" in outcomes["ESMS-LOCK-04"].message
    _apply(target)
    assert _check(target)["ESMS-LOCK-04"].passed is True
