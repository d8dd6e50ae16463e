"""The esms_site inventory plugin, run by the real ansible-inventory (no lab host needed):
same hosts, groups and variables as the CLI's plan, same validation messages, no secret."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from esms_baseline.inventory_source import SECRET_ENV_VAR, SITE_GROUP, site_inventory
from esms_baseline.plan import build_plan
from esms_baseline.profile import load_profile, validate_file
from tests.conftest import random_secrets_in_env

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "site.yml"
BIN = Path(sys.executable).parent


def plain(value: Any) -> Any:
    """ansible-inventory prints strings an inventory plugin returns as {"__ansible_unsafe":
    ...} (never templated): compare their values."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def inventory(source: Path, *extra: str, cwd: Path = ROOT,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", str(source), "--playbook-dir",
         str(ROOT / "playbooks"), "--list", *extra],
        capture_output=True, text=True, cwd=cwd, check=False,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", **(env or {})}, timeout=120)


def secret_names() -> list[str]:
    return list(build_plan(load_profile(EXAMPLE)).secret_env.values())


def test_raw_profile_gives_the_plan_of_the_cli() -> None:
    with random_secrets_in_env(secret_names()) as values:
        proc = inventory(EXAMPLE)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    plan = build_plan(load_profile(EXAMPLE))
    hostvars = plain(data["_meta"]["hostvars"])
    assert sorted(hostvars) == sorted(plan.host_names)
    assert sorted(data[SITE_GROUP]["hosts"]) == sorted(plan.host_names)
    for h in plan.hosts:
        for g in h.groups:
            assert h.name in data[g]["hosts"]
        got = {k: v for k, v in hostvars[h.name].items() if k not in (SECRET_ENV_VAR,)}
        # JSON has no tuples: compare through JSON
        assert got == json.loads(json.dumps(h.vars)), h.name
        # the references of a run without the CLI: names of variables, never values
        assert hostvars[h.name][SECRET_ENV_VAR] == dict(plan.secret_env)
    for value in values.values():
        assert value not in proc.stdout and value not in proc.stderr


def test_profile_text_is_never_templated(tmp_path: Path) -> None:
    """A profile string that looks like a template stays text, through the plugin and through
    the inventory file the CLI writes (``!unsafe``): never a command run on the controller."""
    hostile = "{{ 7 * 7 }} {{ lookup('ansible.builtin.pipe', 'id') }}"
    profile = tmp_path / "site.yml"
    profile.write_text(EXAMPLE.read_text().replace("full_name: Julien Martin",
                                                   f'full_name: "{hostile}"'))
    written = build_plan(load_profile(profile)).write_inventory(tmp_path / "cli")
    assert "!unsafe" in written.read_text()
    for source in (profile, written):
        proc = subprocess.run(
            [str(BIN / "ansible"), "lab-01", "-i", str(source), "-c", "local", "-m", "debug",
             "-a", "msg={{ esms_accounts_users[0].full_name }}"],
            capture_output=True, text=True, cwd=ROOT, check=False, timeout=120,
            env={**os.environ, "ANSIBLE_NOCOLOR": "1"})
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert hostile in proc.stdout and "uid=" not in proc.stdout and "49" not in proc.stdout


def test_the_cli_writes_the_same_inventory() -> None:
    plan = build_plan(load_profile(EXAMPLE))
    text = Path(plan.write_inventory(Path("/tmp") / f"esms-inv-{os.getpid()}")).read_text()
    written = yaml.safe_load(text.replace("!unsafe ", ""))
    try:
        assert written == site_inventory(plan).to_document()
        hosts = written["all"]["children"][SITE_GROUP]["hosts"]
        assert hosts == {h.name: h.vars for h in plan.hosts} | {
            h.name: {**h.connection_vars, **h.vars} for h in plan.hosts}
    finally:
        shutil.rmtree(Path("/tmp") / f"esms-inv-{os.getpid()}", ignore_errors=True)


def test_invalid_profile_fails_with_the_validate_messages(tmp_path: Path) -> None:
    bad = tmp_path / "site.yml"
    bad.write_text(EXAMPLE.read_text().replace('finess: "690009999"', 'finess: "12"')
                   .replace("idle_minutes: 15\n  lock_delay", 'idle_minutes: "quinze"\n  lock_delay'))
    _, problems = validate_file(bad)
    assert len(problems) == 2
    proc = inventory(bad)
    assert proc.returncode != 0
    for p in problems:
        assert str(p) in proc.stderr
    assert f"{bad}:14:" in proc.stderr  # file:line of the FINESS number


def test_wrapper_as_awx_calls_it(tmp_path: Path) -> None:
    """AWX: ``ansible-inventory --list --export -i <source> --playbook-dir <its folder>`` from
    the project folder, ANSIBLE_INVENTORY_UNPARSED_FAILED=True; here also from a folder
    without our ansible.cfg, where only the wrapper selects the plugin."""
    shutil.copy(EXAMPLE, tmp_path / "tilleuls.yml")
    wrapper = tmp_path / "tilleuls.inventory.yml"
    wrapper.write_text("plugin: esms_site\nprofile: tilleuls.yml\n")
    env = {"ANSIBLE_INVENTORY_UNPARSED_FAILED": "True", "ANSIBLE_INVENTORY_EXPORT": "True"}
    proc = inventory(wrapper, "--export", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert sorted(json.loads(proc.stdout)["_meta"]["hostvars"]) == ["lab-01", "lab-02", "lab-03"]
    (tmp_path / "tilleuls.yml").write_text(EXAMPLE.read_text().replace("schema_version: 1",
                                                                       "schema_version: 9"))
    proc = inventory(wrapper, "--export", cwd=tmp_path, env=env)
    assert proc.returncode != 0
    assert "tilleuls.yml:10:17: schema_version:" in proc.stderr
    wrapper.write_text("plugin: esms_site\nprofile: tilleuls.yml\nextra: 1\n")
    proc = inventory(wrapper, cwd=tmp_path, env=env)
    assert proc.returncode != 0 and "unknown keys: extra" in proc.stderr


def test_ordinary_yaml_inventory_still_reads(tmp_path: Path) -> None:
    """ansible.cfg leaves ansible.builtin.yaml out (it would read a profile as groups): the
    plugin hands it every YAML file that is not a profile."""
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  children:\n    g:\n      hosts:\n        h1: {x: 1}\n")
    proc = inventory(inv)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["_meta"]["hostvars"]["h1"] == {"x": 1}


def test_profile_inventory_loop_is_refused(tmp_path: Path) -> None:
    """A profile whose inventory.path is itself a site profile must not recurse forever."""
    loop = tmp_path / "loop.yml"
    loop.write_text("schema_version: 1\nsite: {name: Boucle, finess: '690009999'}\n"
                    "inventory: {path: loop.yml}\naccounts: {management_account: esms-admin}\n"
                    "firewall: {management: {sources: [198.51.100.0/24]}}\n")
    proc = inventory(loop)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr


def test_play_resolves_the_references_from_vault_and_environment(tmp_path: Path) -> None:
    """The secret tasks of the playbook (its baseline play's pre_tasks, run as they are on
    the controller only: include_vars, set_fact, no module on any host) fill the run-time
    variables the inventory names, from the profile's vault file and the environment."""
    from ansible.parsing.vault import VaultLib, VaultSecret

    data = ROOT / "tests" / "data" / "profiles" / "valid"
    (tmp_path / "secrets").mkdir()
    profile = tmp_path / "site.yml"
    profile.write_text((data / "vault-refs.yml").read_text())
    vault_pw = "vault-pass-" + os.urandom(8).hex()
    values = {"pw_mdupont": "Md-" + os.urandom(8).hex(),
              "backup_password": "Bk-" + os.urandom(8).hex()}
    (tmp_path / "vault-pass").write_text(vault_pw)
    (tmp_path / "secrets" / "vault.yml").write_bytes(
        VaultLib([("site", VaultSecret(vault_pw.encode()))]).encrypt(yaml.safe_dump(values)))
    plays = yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text())
    secret_tasks = next(p for p in plays if p.get("pre_tasks"))["pre_tasks"]
    play = [{"hosts": "lab-01", "gather_facts": False, "connection": "local",
             "tasks": [*secret_tasks, {
                 "name": "Check", "no_log": True, "ansible.builtin.assert": {"that": [
                     ("lookup('ansible.builtin.vars', esms_accounts_users[0].initial_password_var)"
                     " == expected_vault"),
                     ("lookup('ansible.builtin.vars', esms_accounts_users[1].initial_password_var)"
                     " == expected_env"),
                     "lookup('ansible.builtin.vars', esms_backup_password_var) == expected_backup",
                 ]}}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    with random_secrets_in_env(["ESMS_PW_JMARTIN"]) as env_values:
        proc = subprocess.run(
            [str(BIN / "ansible-playbook"), "-i", str(profile), str(tmp_path / "play.yml"),
             "--vault-password-file", str(tmp_path / "vault-pass"),
             "-e", f"expected_vault={values['pw_mdupont']}",
             "-e", f"expected_env={env_values['ESMS_PW_JMARTIN']}",
             "-e", f"expected_backup={values['backup_password']}"],
            capture_output=True, text=True, cwd=ROOT, check=False, timeout=300,
            env={**os.environ, "ANSIBLE_NOCOLOR": "1"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "ok=3" in proc.stdout
    for v in [*values.values(), *env_values.values()]:
        assert v not in proc.stdout + proc.stderr  # no_log
