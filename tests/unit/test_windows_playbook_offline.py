"""The REAL playbooks/site.yml, as Ansible would run it on Windows hosts of the example mixed
site, checked offline through Ansible's own machinery (tests/offline/windows_playbook_audit.py:
InventoryManager, VariableManager, Playbook.load + Play.compile with --list-tasks semantics,
Templar.evaluate_conditional, the become decision of TaskExecutor, module_loader/action_loader).

Inventory: inventories/examples/mixed-site.yml (the MSP's connection variables) + the site
inventory the plan writes for examples/site-mixed.yml (the role variables), in the order
esms_baseline.run passes them. Facts: what the preflight play's gather gives a Windows host
(os_family Windows).

Before the fixes of issue 12 this failed with 34 become findings (sudo on every task of plays
2 and 3), 2 module + 8 POSIX findings (Record play: ansible.builtin.file/copy on /etc with
owner root), 5 depth findings (Administrators members, firewall profiles) and, with the
diff check added later, 7 changing win_powershell tasks without a diff.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from esms_baseline.plan import build_plan
from esms_baseline.profile import load_profile
from esms_baseline.resources import roles_dir

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_INVENTORY = ROOT / "inventories" / "examples" / "mixed-site.yml"
PROFILE = ROOT / "examples" / "site-mixed.yml"
WINDOWS_HOSTS = ("pc-soins-rdc", "srv-fichiers")
CHECKS = ("module", "become", "posix", "depth", "dynamic", "diff", "args")


def run_audit(playbook: Path, inventories: list[Path], host: str) -> dict[str, Any]:
    env = dict(os.environ, ANSIBLE_ROLES_PATH=str(roles_dir()), ANSIBLE_NOCOLOR="True")
    cmd = [sys.executable, "-m", "tests.offline.windows_playbook_audit", "--playbook",
           str(playbook), "--host", host]
    for inv in inventories:
        cmd += ["-i", str(inv)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, check=False,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


@cache
def site_inventory(tmp: str) -> Path:
    return build_plan(load_profile(PROFILE)).write_inventory(Path(tmp))


@pytest.fixture(scope="module", params=WINDOWS_HOSTS)
def audit(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    inv = site_inventory(str(tmp_path_factory.mktemp("site-inventory")))
    return run_audit(ROOT / "playbooks" / "site.yml", [EXAMPLE_INVENTORY, inv], request.param)


@pytest.mark.parametrize("check", CHECKS)
def test_site_playbook_sends_nothing_a_windows_host_cannot_run(audit: dict[str, Any],
                                                               check: str) -> None:
    found = [f"{f['task']}: {f['detail']}" for f in audit["findings"] if f["check"] == check]
    assert found == [], f"{audit['host']}: {len(found)} {check} finding(s):\n" + "\n".join(found)


def test_audit_sees_every_windows_part_of_the_playbook(audit: dict[str, Any]) -> None:
    names = [t["task"] for t in audit["tasks"]]
    # every role's Windows tasks, the preflight and the Record play's Windows tasks
    for marker in ("Preflight | Read the account this run connects with (Windows)",
                   "ESMS-ACC-04 |", "ESMS-PWD-02 |", "ESMS-LOCK-04 |", "ESMS-UPD-03 |",
                   "ESMS-AV-02 |", "ESMS-BAN-01 |", "ESMS-FW-01 | Cancel the rollback",
                   "ESMS-PRV-01 | Provider accounts expire", "ESMS-PRV-02 | AUDIT | Find",
                   "ESMS-PRV-03 | Audit logons", "ESMS-PRV-03 | Size the Security log",
                   "Record | Write C:\\ProgramData\\esms-baseline\\applied.json"):
        assert any(marker in n for n in names), marker
    if audit["host"] == "srv-fichiers":  # the Windows file server is backed up
        for marker in ("ESMS-BAK-01 | Schedule the daily backup", "ESMS-BAK-01 | Create the SSH key",
                       "ESMS-BAK-02 | Start a first backup"):
            assert any(marker in n for n in names), marker
    else:
        assert not any("ESMS-BAK-01 | Schedule" in n for n in names), "PCs are not backed up"
    # nothing of the Debian side is considered runnable on a Windows host
    assert not any("/etc/" in n or "(Debian)" in n for n in names), names
    # become is on for the baseline and record plays, as runas to SYSTEM
    becomes = {t["become"] for t in audit["tasks"] if t["runs"] != "controller"}
    assert becomes <= {"no", "runas as SYSTEM", "ansible.builtin.runas as SYSTEM"}, becomes
    assert becomes & {"runas as SYSTEM", "ansible.builtin.runas as SYSTEM"}


#: Windows modules of the playbook without diff output (their .ps1 source has none), each
#: with how a --check --diff run still shows what it would do.
NO_DIFF_OK = {
    "ansible.windows.win_whoami": "read-only information module",
    "ansible.windows.win_service_info": "read-only information module",
    "ansible.windows.win_group_membership": "returns the members it would add/remove "
                                            "(module RETURN: added, removed)",
    "ansible.windows.win_firewall": "ESMS-FW-01 prints each profile's from -> to in diff mode",
    "ansible.windows.win_file": "creates a folder, nothing to compare",
    "ansible.windows.win_stat": "read-only information module",
    "ansible.windows.win_eventlog": "ESMS-PRV-03 prints the Security log's size and overflow "
                                    "from -> to in check+diff mode",
    "ansible.windows.win_acl": "ESMS-BAK-01 adds SYSTEM/Administrators rules to its own folder "
                               "(reported as changed, no diff output)",
}


def test_check_diff_shows_every_registry_and_policy_change(audit: dict[str, Any]) -> None:
    """apply --check --diff: every task that writes on a Windows host either reports a diff
    (win_regedit, win_security_policy, win_user, win_copy, every changing win_powershell
    script sets $Ansible.Diff) or is one of NO_DIFF_OK."""
    no_diff = {t["action"] for t in audit["tasks"] if t["diff"] == "no"}
    assert no_diff <= set(NO_DIFF_OK), no_diff - set(NO_DIFF_OK)
    writers = {t["action"] for t in audit["tasks"] if t["diff"] == "yes"}
    assert {"ansible.windows.win_regedit", "community.windows.win_security_policy",
            "ansible.windows.win_powershell"} <= writers


BAD_PLAYBOOK = """
- name: Bad | every class of defect the audit must catch
  hosts: all
  gather_facts: false
  become: true
  tasks:
    - name: Bad | Python module, POSIX path and owner
      ansible.builtin.file:
        path: /etc/esms-baseline
        state: directory
        owner: root
        group: root
        mode: "0755"
    - name: Bad | Read a nested structure with the default depth
      ansible.windows.win_powershell:
        script: "@{ members = @(@{ sid = 'S-1-5-32-544' }) }"
      register: bad_read
      changed_when: false
    - name: Bad | Use the nested structure
      ansible.windows.win_group_membership:
        name: Administrators
        members: "{{ bad_read.output[0].members | map(attribute='sid') | list }}"
        state: present
    - name: Bad | Pass the nested structure whole, through a filter that keeps it
      ansible.windows.win_powershell:
        parameters:
          Members: "{{ bad_read.output[0].members | list }}"
        script: "param($Members) $Ansible.Changed = $false"
      changed_when: false
    - name: Bad | A change without a diff
      ansible.windows.win_powershell:
        script: "$Ansible.Changed = $true"
    - name: Bad | Registry type spelled as regedit shows it, in a loop
      ansible.windows.win_regedit:
        path: HKLM:\\SOFTWARE\\X
        name: "{{ item.name }}"
        data: "{{ item.data }}"
        type: "{{ item.type }}"
      loop:
        - {name: A, data: 1, type: REG_DWORD}
        - {name: B, data: 1, type: dword}
    - name: Bad | Misspelt argument, so a required one is missing
      community.windows.win_security_policy:
        section: System Access
        keyy: MinimumPasswordLength
        value: 12
    - name: Bad | Sub-option outside its choices
      community.windows.win_scheduled_task:
        name: x
        actions:
          - path: C:\\x.exe
        triggers:
          - type: every_day
            start_boundary: "2026-01-01T01:00:00"
    - name: Bad | Skipped on Windows, never reported
      ansible.builtin.file:
        path: /tmp/x
        state: touch
      when: ansible_facts['os_family'] == 'Debian'
"""


def test_audit_catches_each_class_of_defect(tmp_path: Path) -> None:
    """The harness can fail: sudo become, a Python module, POSIX path/owner, too little depth,
    a change without diff, module arguments outside the module's documented spec."""
    playbook = tmp_path / "bad.yml"
    playbook.write_text(BAD_PLAYBOOK, encoding="utf-8")
    result = run_audit(playbook, [EXAMPLE_INVENTORY], "pc-soins-rdc")
    by_check: dict[str, list[str]] = {}
    for f in result["findings"]:
        by_check.setdefault(f["check"], []).append(f["detail"])
    assert any("ansible.builtin.file" in d for d in by_check["module"])
    assert any("'sudo'" in d for d in by_check["become"])
    assert {"owner", "group", "mode", "path"} <= {
        d.split("POSIX ")[1].split(" ")[1].split("=")[0] for d in by_check["posix"]}
    assert any("bad_read.output[0].members" in d and "depth >= 3" in d for d in by_check["depth"])
    assert len(by_check["depth"]) == 2, by_check["depth"]  # map(attribute=) and | list passed whole
    assert len(by_check["diff"]) == 1
    args = "\n".join(by_check["args"])
    assert "(item 0): value of type must be one of" in args and "REG_DWORD" in args, args
    assert "(item 1)" not in args  # the valid item passes
    assert "unsupported argument 'keyy'" in args and "required argument 'key' missing" in args
    assert "got: every_day found in triggers" in args
    assert len(by_check["args"]) == 4, args
    assert not any("/tmp/x" in d for ds in by_check.values() for d in ds)


def test_mixed_example_plans_every_host_with_windows_become_and_desired_state() -> None:
    """examples/site-mixed.yml: the plan accepts it; its Windows hosts become SYSTEM with runas
    and carry their desired state; the Debian server keeps sudo (no become variable set)."""
    plan = build_plan(load_profile(PROFILE))
    platforms = {h.name: h.platform for h in plan.hosts}
    assert platforms == {"srv-dui": "debian", "pc-soins-rdc": "windows",
                         "pc-soins-etage1": "windows", "pc-secretariat": "windows",
                         "srv-fichiers": "windows"}
    for h in plan.hosts:
        if h.platform == "windows":
            assert h.vars["ansible_become_method"] == "ansible.builtin.runas"
            assert h.vars["ansible_become_user"] == "SYSTEM"
            assert h.vars["esms_windows_desired"]["registry"]
        else:
            assert "ansible_become_method" not in h.vars
    inactivity = {h.name: next(r["data"] for r in h.vars["esms_windows_desired"]["registry"]
                               if r["name"] == "InactivityTimeoutSecs")
                  for h in plan.hosts if h.platform == "windows"}
    assert inactivity == {"pc-soins-rdc": 300, "pc-soins-etage1": 300, "pc-secretariat": 600,
                          "srv-fichiers": 900}


#: Arguments that must be type-checked (known before the run) wherever the module is used.
CHECKED_ARGS = {
    "ansible.windows.win_regedit": {"path", "name", "data", "type"},
    "community.windows.win_security_policy": {"section", "key", "value"},
    "community.windows.win_firewall_rule": {"name", "direction", "action", "protocol",
                                            "localport", "remoteip", "profiles", "enabled"},
    "ansible.windows.win_firewall": {"profiles", "state", "inbound_action"},
    "community.windows.win_scheduled_task": {"actions", "triggers", "username", "logon_type",
                                             "run_level", "multiple_instances"},
    "ansible.windows.win_acl": {"path", "user", "rights", "type", "inherit", "propagation"},
}


def test_module_arguments_are_checked_against_the_installed_collections(
        audit: dict[str, Any]) -> None:
    """The args check really validated the values of the plan (not only names): for the
    modules whose values come from the desired state, every one of them was templated with
    the host's variables and checked (types, choices, sub-options) for every loop item."""
    for t in audit["tasks"]:
        want = CHECKED_ARGS.get(t["action"])
        if want and t.get("args_checked"):
            assert want <= set(t["args_checked"]), (t["task"], want - set(t["args_checked"]))
    used = {t["action"] for t in audit["tasks"] if t.get("args_checked")}
    assert {"ansible.windows.win_regedit", "community.windows.win_security_policy",
            "community.windows.win_firewall_rule", "ansible.windows.win_firewall"} <= used


def test_legacy_module_code_check(tmp_path: Path) -> None:
    """Legacy modules (Get-AnsibleParam) ignore arguments their code never reads and check
    values against their own -validateset: both read from the .ps1 itself."""
    from tests.offline.module_args import check_legacy, legacy_params

    ps1 = tmp_path / "win_x.ps1"
    ps1.write_text('$params = Parse-Args $args\n'
                   '$d = Get-AnsibleParam -obj $params -name "direction" -type "str" '
                   '-validateset "in", "out"\n'
                   '$e = Get-AnsibleParam -obj $params -name "enabled" -type "bool" '
                   '-aliases "enable"\n', encoding="utf-8")
    params = legacy_params(str(ps1))
    assert params == {"direction": ["in", "out"], "enabled": None, "enable": None}
    given = {"direction": "IN", "enabled": True, "profile": "x"}
    problems = check_legacy(params, given, given)
    assert len(problems) == 1 and "'profile'" in problems[0], problems  # IN: case-insensitive
    assert "not in the code's -validateset" in check_legacy(params, {"direction": "inbound"},
                                                            {"direction": "inbound"})[0]
    assert check_legacy(params, {"profile": 1}, {}, names=False) == []
    found = module_loader_path("community.windows.win_firewall_rule")
    real = legacy_params(found)
    assert real is not None and real["direction"] == ["in", "out"]
    assert legacy_params(module_loader_path("ansible.windows.win_regedit")) is None


def module_loader_path(name: str) -> str:
    """The .ps1 of an installed collection module (no plugin loader in this process)."""
    import ansible_collections  # type: ignore[import-untyped]

    namespace, collection, module = name.split(".")
    # the namespace package may also list ansible-core's internal collections folder first
    # (once another test has loaded Ansible's collection finder in this process)
    for root in map(Path, ansible_collections.__path__):
        path = root / namespace / collection / "plugins" / "modules" / f"{module}.ps1"
        if path.exists():
            return str(path)
    raise AssertionError(f"{name}: no installed collection holds it")
