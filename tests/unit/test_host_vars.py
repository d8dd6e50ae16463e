"""Issue #10 part 2: host variables cannot reach role internals or carry plain secrets.

Layer 1 (the schema, ``load_profile``) is tested with
``tests/data/profiles/invalid/schema-host-vars-not-connection.yml``; here: the plan refuses
the same values for a library user who builds the profile without ``validate``, refuses
role internals in a connection inventory (the lab's own settings stay accepted), and
password references are resolved through the run's one-time vault file: never in the
inventory file (0600) nor in the artifacts.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from esms_baseline.errors import PlanError
from esms_baseline.plan import Plan, build_plan
from esms_baseline.profile import SiteProfile, load_profile, validate_file
from esms_baseline.run import _secret_material, apply
from tests.conftest import random_secrets_in_env

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "examples" / "site-minimal.yml"
INVALID = ROOT / "tests" / "data" / "profiles" / "invalid" / "schema-host-vars-not-connection.yml"


def _with_vars(hvars: dict[str, Any]) -> SiteProfile:
    """The minimal profile with lab-01's variables replaced, bypassing validate (as a
    library user can)."""
    profile = load_profile(MINIMAL)
    host = dataclasses.replace(profile.inventory.hosts["lab-01"], vars=hvars)
    inv = dataclasses.replace(profile.inventory, hosts={"lab-01": host})
    return dataclasses.replace(profile, inventory=inv)


def test_clear_password_is_not_echoed_by_validate() -> None:
    _, problems = validate_file(INVALID)
    assert problems
    assert all("Tilleuls2026" not in str(p) for p in problems)


@pytest.mark.parametrize("hvars,words", [
    ({"esms_firewall_ruleset_override": "flush ruleset"}, "esms_firewall_ruleset_override"),
    ({"esms_backup_ssh_proxy_command": "sh -c id"}, "esms_backup_ssh_proxy_command"),
    ({"ansible_ssh_common_args": "-o ProxyCommand=id"}, "ansible_ssh_common_args"),
    ({"ansible_password": "Tilleuls2026"}, "ansible_password must be a reference"),
    ({"ansible_become_password": {"env": "X", "vault": "y"}}, "ansible_become_password must be"),
    ({"ansible_host": "-oProxyCommand=id"}, "ansible_host"),
    ({"ansible_user": "esms-admin\nProxyCommand id"}, "control character"),
    ({"ansible_connection": "local"}, "ansible_connection"),
    ({"ansible_port": "22; id"}, "ansible_port"),
    # a reference's name is written into a Jinja expression of the inventory: a library user
    # (no schema) could have run `id` on the control machine through lookup('pipe')
    ({"ansible_password": {"vault": "x }}{{ lookup('pipe','id') }}{{ y"}}, "must name a variable"),
    ({"ansible_become_password": {"env": "X') }}{{ lookup('pipe','id') }}{{ ('"}},
     "must name a variable"),
])
def test_plan_refuses_what_validate_refuses(hvars: dict[str, Any], words: str) -> None:
    with pytest.raises(PlanError) as info:
        build_plan(_with_vars(hvars))
    assert "lab-01" in str(info.value) and words in str(info.value)
    assert "Tilleuls2026" not in str(info.value)


def test_allowed_connection_settings_pass() -> None:
    from esms_baseline.profile.hostvars import host_vars_problems

    ok = {"ansible_host": "192.0.2.7", "ansible_port": 2222, "ansible_user": "esms-admin",
          "ansible_connection": "ssh", "ansible_become": True, "ansible_become_method": "sudo",
          "ansible_password": {"env": "ESMS_PW_LAB01"},
          "ansible_become_password": {"vault": "become_lab01"}}
    assert host_vars_problems("lab-01", ok) == []


def test_references_are_resolved_never_written(tmp_path: Path) -> None:
    plan = build_plan(_with_vars({"ansible_password": {"env": "ESMS_PW_LAB01"},
                                  "ansible_become_password": {"vault": "become_lab01"}}))
    assert plan.secret_env["esms_secret_conn_esms_pw_lab01"] == "ESMS_PW_LAB01"
    assert "ESMS_PW_LAB01" in plan.profile_secret_env
    host = plan.inventory_document()["all"]["children"]["esms_site"]["hosts"]["lab-01"]
    assert host["ansible_password"] == "{{ esms_secret_conn_esms_pw_lab01 }}"
    assert host["ansible_become_password"] == "{{ become_lab01 }}"
    check = plan.inventory_document(secrets_from_env=True)
    assert check["all"]["children"]["esms_site"]["hosts"]["lab-01"]["ansible_password"] == (
        "{{ lookup('ansible.builtin.env', 'ESMS_PW_LAB01') }}")
    path = plan.write_inventory(tmp_path / "inv")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_inventory_file_is_private_even_if_it_existed(tmp_path: Path) -> None:
    (tmp_path / "inv").mkdir()
    old = tmp_path / "inv" / "esms-site.yml"
    old.write_text("old")
    old.chmod(0o644)
    build_plan(load_profile(MINIMAL)).write_inventory(tmp_path / "inv")
    assert stat.S_IMODE(old.stat().st_mode) == 0o600


def _playbook(tmp_path: Path) -> Path:
    """A play that compares, without printing, the templated connection password with the
    environment variable: Ansible's real inventory, templating and vault handling."""
    pb = tmp_path / "resolve.yml"
    pb.write_text(
        "- hosts: lab-01\n  gather_facts: false\n  connection: local\n  tasks:\n"
        "    - ansible.builtin.assert:\n"
        "        that: [\"hostvars[inventory_hostname]['ansible_password'] == "
        "lookup('ansible.builtin.env', 'H1_EXPECTED')\"]\n"
        "      no_log: true\n      delegate_to: localhost\n", encoding="utf-8")
    return pb


def test_reference_resolves_through_the_one_time_vault(tmp_path: Path) -> None:
    plan: Plan = build_plan(_with_vars({"ansible_password": {"env": "ESMS_PW_LAB01"}}))
    inv = plan.write_inventory(tmp_path / "inv")
    assert "ESMS_PW_LAB01" not in inv.read_text() or "{{" in inv.read_text()
    with random_secrets_in_env(["ESMS_PW_LAB01"]) as values:
        assert values["ESMS_PW_LAB01"] not in inv.read_text()
        with _secret_material(plan, None) as args:
            env = {k: v for k, v in os.environ.items() if k != "ESMS_PW_LAB01"}
            env["H1_EXPECTED"] = values["ESMS_PW_LAB01"]
            exe = Path(sys.executable).parent / "ansible-playbook"
            proc = subprocess.run([str(exe), "-i", str(inv), *args, str(_playbook(tmp_path))],
                                  capture_output=True, text=True, env=env, check=False,
                                  timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert values["ESMS_PW_LAB01"] not in proc.stdout + proc.stderr


def test_connection_password_not_in_inventory_or_artifacts(tmp_path: Path) -> None:
    """A real apply (to a closed loopback port: nothing runs anywhere) records its command,
    environment and inventory: the password is in none of them."""
    profile = _with_vars({"ansible_host": "127.0.0.1", "ansible_port": 9,
                          "ansible_user": "nobody", "ansible_password": {"env": "ESMS_PW_LAB01"},
                          "ansible_become_password": {"env": "ESMS_BECOME_LAB01"}})
    with random_secrets_in_env(["ESMS_PW_LAB01", "ESMS_BECOME_LAB01"]) as values:
        result = apply(build_plan(profile), artifacts_dir=tmp_path / "runs", forks=1)
    assert result.hosts[0].unreachable
    files = [p for p in (tmp_path / "runs").rglob("*") if p.is_file()]
    inventories = [p for p in files if p.name == "esms-site.yml"]
    assert inventories and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in inventories)
    blobs = [p.read_text(errors="replace") for p in files]
    assert any("ansible-playbook" in b for b in blobs)
    for name, value in values.items():
        assert not any(value in b for b in blobs), f"{name} leaked"
        assert not any(f"{name}=" in b for b in blobs), f"{name} recorded in the environment"


def _connection_inventory(tmp_path: Path, host_vars: str, where: str = "host_vars/lab-01.yml") -> Path:
    inv = tmp_path / "conn" / "inventory.yml"
    (inv.parent / where).parent.mkdir(parents=True)
    inv.write_text("all:\n  hosts:\n    lab-01:\n      ansible_host: 127.0.0.1\n")
    (inv.parent / where).write_text(host_vars)
    return inv


def test_connection_inventory_group_vars_are_seen(tmp_path: Path) -> None:
    inv = _connection_inventory(tmp_path, "esms_firewall_ruleset_override: flush ruleset\n",
                                "group_vars/all.yml")
    with pytest.raises(PlanError, match="esms_firewall_ruleset_override"):
        build_plan(load_profile(MINIMAL), inventory=inv)


def test_connection_inventory_keeps_the_lab_settings(tmp_path: Path) -> None:
    inv = _connection_inventory(tmp_path, (
        "esms_backup_ssh_proxy_command: nsenter -t 1 -n socat - UNIX:/run/x.sock\n"
        "esms_backup_ssh_known_hosts: ['store ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA']\n"))
    plan = build_plan(load_profile(MINIMAL), inventory=inv)
    assert plan.host_names == ("lab-01",)


@pytest.mark.parametrize("host_vars,words", [
    ("esms_firewall_ruleset_override: flush ruleset\n", "esms_firewall_ruleset_override"),
    ("esms_session_lock_ssh_alive_count_max: 999\n", "esms_session_lock_ssh_alive_count_max"),
    ('esms_backup_ssh_proxy_command: "nc %h 22\\nHost *\\n  ProxyCommand id"\n', "single-line"),
    ("esms_backup_ssh_known_hosts: 'store ssh-ed25519 AAAA'\n", "list"),
])
def test_connection_inventory_cannot_set_role_internals(tmp_path: Path, host_vars: str,
                                                        words: str) -> None:
    inv = _connection_inventory(tmp_path, host_vars)
    with pytest.raises(PlanError) as info:
        build_plan(load_profile(MINIMAL), inventory=inv)
    assert "lab-01" in str(info.value) and words in str(info.value)
