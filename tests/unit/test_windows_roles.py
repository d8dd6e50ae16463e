"""The Windows side of the roles, checked without a Windows host:

- the role argument specs accept the variables the plan passes to a Windows host (a small
  checker of types, required options, choices and sub-options, like Ansible's);
- the Windows task files follow the conventions (one file per control imported with its tags
  and exception condition, every task named with its control id, FQCNs, secrets no_log, data
  taken from esms_windows_desired for the file's own control);
- the conformance suite, the rules and the catalogue agree; the collector command fits on a
  cmd.exe command line; WinRM settings are refused unless safe or explicitly opted out.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from esms_baseline.catalogue import load_catalogue
from esms_baseline.conformance.rules.windows import RULES
from esms_baseline.windows import connection
from esms_baseline.windows.collect import MAX_COMMAND_CHARS, remote_command
from esms_baseline.windows.plan_additions import windows_additions
from tests.unit.test_windows_desired import windows_vars

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "roles"
WINDOWS_ROLES = ("esms_session_lock", "esms_passwords", "esms_accounts", "esms_updates",
                 "esms_firewall", "esms_antivirus", "esms_banner", "esms_backup")
CAT = load_catalogue()
_TYPES: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "bool": (bool,),
                                       "list": (list,), "dict": (dict,), "path": (str,)}


def check_options(options: Mapping[str, Any], values: Mapping[str, Any], where: str) -> list[str]:
    """Problems of ``values`` against argument-spec ``options`` (None = not given)."""
    problems = []
    for name, spec in options.items():
        value = values.get(name)
        if value is None:
            if spec.get("required"):
                problems.append(f"{where}{name}: required, missing")
            continue
        typ = spec.get("type", "str")
        if typ != "raw":
            ok = isinstance(value, _TYPES[typ]) and not (typ == "int" and isinstance(value, bool))
            if not ok:
                problems.append(f"{where}{name}: {type(value).__name__}, not {typ}")
                continue
        items: list[Any] = value if typ == "list" else [value]
        if "choices" in spec:
            bad = [i for i in items if i not in spec["choices"]]
            if bad:
                problems.append(f"{where}{name}: {bad} not in {spec['choices']}")
        elem = spec.get("elements")
        if typ == "list" and elem:
            for i, item in enumerate(items):
                if not isinstance(item, _TYPES[elem]):
                    problems.append(f"{where}{name}[{i}]: {type(item).__name__}, not {elem}")
                elif elem == "dict" and "options" in spec:
                    problems += check_options(spec["options"], cast("Mapping[str, Any]", item), f"{where}{name}[{i}].")
        if typ == "dict" and "options" in spec:
            problems += check_options(spec["options"], value, f"{where}{name}.")
    return problems


def test_checker_catches_types_required_and_choices() -> None:
    opts: dict[str, Any] = {"a": {"type": "int", "required": True}, "b": {"type": "list", "elements": "str",
                                                          "choices": ["x", "y"]},
            "c": {"type": "list", "elements": "dict", "options": {"k": {"type": "str", "required": True}}}}
    assert check_options(opts, {"a": 1, "b": ["x"], "c": [{"k": "v"}]}, "") == []
    assert len(check_options(opts, {"a": True, "b": ["z"], "c": [{}]}, "")) == 3
    assert check_options(opts, {}, "") == ["a: required, missing"]


@pytest.mark.parametrize("host", ["pc-soins-01", "pc-bureau-01"])
@pytest.mark.parametrize("role", WINDOWS_ROLES)
def test_argument_specs_accept_the_plan_variables_of_a_windows_host(role: str, host: str) -> None:
    path = ROLES / role / "meta" / "argument_specs.yml"
    if not path.exists():
        pytest.skip(f"{role} has no meta/argument_specs.yml yet (Debian side in progress)")
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))["argument_specs"]["main"]
    v = windows_vars(host)
    v.update(windows_additions(v))
    assert check_options(spec.get("options") or {}, v, f"{role}: ") == []


# ------------------------------------------------------------------------ task files


def _tasks(path: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def walk(items: list[dict[str, Any]]) -> None:
        for t in items:
            out.append(t)
            for k in ("block", "rescue", "always"):
                walk(t.get(k) or [])

    walk(yaml.safe_load(path.read_text(encoding="utf-8")) or [])
    return out


def _control_of(path: Path) -> str:
    m = re.match(r"(ESMS-[A-Z]+-\d{2})", path.stem)
    assert m, path
    return m.group(1)


WINDOWS_FILES = sorted(ROLES.glob("*/tasks/windows/*.yml"))
_MODULE_KEYS = {"name", "tags", "when", "loop", "loop_control", "vars", "register", "no_log",
                "changed_when", "failed_when", "check_mode", "block", "rescue", "always",
                "notify", "become", "delegate_to", "environment", "ignore_errors", "until",
                "retries", "delay"}


def test_every_windows_role_has_its_task_files() -> None:
    for role in WINDOWS_ROLES:
        assert (ROLES / role / "tasks" / "windows.yml").exists(), role
    assert len(WINDOWS_FILES) >= 18


@pytest.mark.parametrize("path", WINDOWS_FILES, ids=lambda p: f"{p.parts[-4]}/{p.name}")
def test_windows_task_files_follow_the_conventions(path: Path) -> None:
    control = _control_of(path)
    assert control in CAT.ids
    text = path.read_text(encoding="utf-8")
    for task in _tasks(path):
        assert str(task.get("name", "")).startswith(f"{control} | "), task.get("name")
        modules = [k for k in task if k not in _MODULE_KEYS]
        for m in modules:
            assert m.startswith(("ansible.builtin.", "ansible.windows.", "community.windows.")), m
        if "esms_accounts_windows_secret" in yaml.safe_dump(task):
            assert task.get("no_log") is True, task["name"]
    for other in re.findall(r"selectattr\('control', 'equalto', '([^']+)'\)", text):
        assert other == control, f"{path.name} reads the desired state of {other}"


@pytest.mark.parametrize("role", WINDOWS_ROLES)
def test_windows_yml_imports_each_control_with_tags_and_exception(role: str) -> None:
    doc = yaml.safe_load((ROLES / role / "tasks" / "windows.yml").read_text(encoding="utf-8"))
    imported = []
    for task in doc:
        assert str(task["name"]).split(" | ")[0] in CAT.ids, task["name"]
        target = task.get("ansible.builtin.import_tasks")
        if not target:
            continue
        imported.append(target)
        control = _control_of(Path(target))
        assert (ROLES / role / "tasks" / target).exists(), target
        assert control in task["tags"], task
        area = next(c for c in CAT.controls if c.id == control).area
        assert area in task["tags"], task
        if not target.endswith("-confirm.yml"):
            when = task["when"] if isinstance(task["when"], list) else [task["when"]]
            assert when[0] == f"'{control}' not in esms_excepted_controls"
            # the only other condition allowed: backups only on hosts the profile backs up
            assert when[1:] in ([], ["esms_windows_desired.backup is not none"]), when
    files = {f"windows/{p.name}" for p in (ROLES / role / "tasks" / "windows").glob("*.yml")}
    assert set(imported) == files


def test_firewall_order_keeps_the_management_connection() -> None:
    doc = yaml.safe_load((ROLES / "esms_firewall" / "tasks" / "windows.yml").read_text())
    order = [t.get("ansible.builtin.import_tasks") or t.get("ansible.builtin.meta") for t in doc][1:]
    assert order == ["windows/ESMS-FW-03.yml", "windows/ESMS-FW-02.yml", "windows/ESMS-FW-01.yml",
                     "reset_connection", "windows/ESMS-FW-01-confirm.yml"]
    fw01 = (ROLES / "esms_firewall" / "tasks" / "windows" / "ESMS-FW-01.yml").read_text()
    assert fw01.index("Arm the rollback") < fw01.index("ansible.windows.win_firewall:")


def test_new_roles_dispatch_windows_hosts_to_windows_yml() -> None:
    for role in ("esms_antivirus", "esms_banner"):
        main = yaml.safe_load((ROLES / role / "tasks" / "main.yml").read_text())
        assert {"name": "Windows family", "ansible.builtin.import_tasks": "windows.yml",
                "when": "ansible_facts['os_family'] == 'Windows'"} in main
        defaults = yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text())
        spec = yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())
        options = spec["argument_specs"]["main"]["options"]
        for name, value in defaults.items():
            assert options[name]["default"] == value, name


# ------------------------------------------------------------------------ suite, collector


def test_suite_has_one_test_per_windows_rule_and_catalogue_announces_them() -> None:
    tree = ast.parse((ROOT / "esms_baseline/conformance/suite/test_windows.py").read_text())
    tests = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert tests == {"test_" + c.replace("-", "_") for c in RULES}
    for cid in RULES:
        assert next(c for c in CAT.controls if c.id == cid).platforms.get("windows"), cid


def test_collector_command_fits_a_cmd_line_without_special_characters() -> None:
    cmd = remote_command()
    assert len(cmd) <= MAX_COMMAND_CHARS
    inner = cmd.split('-Command "', 1)[1][:-1]
    assert not set('"%^&|<>') & set(inner)


def test_collector_is_read_only() -> None:
    text = (ROOT / "esms_baseline/conformance/collectors/windows.ps1").read_text()
    code = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
    for verb in ("Set-", "New-NetFirewall", "Remove-NetFirewall", "Disable-", "Enable-",
                 "Update-MpSignature", "Register-", "Add-", "secedit.exe /configure"):
        assert verb not in code, verb
    assert "secedit.exe /export" in code and "Remove-Item -LiteralPath $tmp" in code


# ------------------------------------------------------------------------ connection


SAFE = {"ansible_connection": "winrm", "ansible_port": 5986, "ansible_winrm_scheme": "https",
        "ansible_winrm_transport": "ntlm", "ansible_winrm_server_cert_validation": "validate",
        "ansible_user": "esms-admin",
        "ansible_password": "{{ lookup('ansible.builtin.env', 'ESMS_WINRM_PASSWORD') }}"}


def test_safe_connection_and_password_from_the_environment() -> None:
    assert connection.weaknesses(SAFE) == []
    s = connection.settings_from_hostvars("pc", SAFE, {"ESMS_WINRM_PASSWORD": "x"})
    assert s.endpoint == "https://pc:5986/wsman" and s.password == "x" and "x" not in repr(s)
    with pytest.raises(connection.WinRMConfigError, match="ESMS_WINRM_PASSWORD"):
        connection.settings_from_hostvars("pc", SAFE, {})


@pytest.mark.parametrize("weaker", [
    {"ansible_winrm_scheme": "http", "ansible_port": 5985},
    {"ansible_winrm_server_cert_validation": "ignore"},
    {"ansible_winrm_transport": "basic"},
    {"ansible_winrm_message_encryption": "never"},
])
def test_weaker_connection_needs_a_stated_reason(weaker: dict[str, Any]) -> None:
    hv = SAFE | weaker
    assert connection.connection_problems("pc", hv)
    with pytest.raises(connection.WinRMConfigError, match=connection.OPT_IN_VAR):
        connection.settings_from_hostvars("pc", hv, {"ESMS_WINRM_PASSWORD": "x"})
    hv[connection.OPT_IN_VAR] = "isolated lab network, no production data"
    assert connection.connection_problems("pc", hv) == []


def test_password_in_clear_is_refused() -> None:
    problems = connection.connection_problems("pc", SAFE | {"ansible_password": "Secret123!"})
    assert problems and "in clear" in problems[0]
    kerberos = {k: v for k, v in SAFE.items() if k != "ansible_password"} | {
        "ansible_winrm_transport": "kerberos", "ansible_user": "esms-admin@EHPAD.LOCAL"}
    assert connection.settings_from_hostvars("pc", kerberos, {}).password is None


def test_example_inventory_connections_are_safe() -> None:
    import json as _json
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "ansible-inventory"
    out = subprocess.run([str(exe), "-i", str(ROOT / "inventories/examples/mixed-site.yml"), "--list"],
                         capture_output=True, text=True, check=True)
    hostvars = _json.loads(out.stdout)["_meta"]["hostvars"]
    windows = {h: v for h, v in hostvars.items() if v.get("ansible_connection") == "winrm"}
    assert len(windows) == 4
    for name, hv in windows.items():
        assert connection.connection_problems(name, hv) == [], name
        assert hv["ansible_port"] == 5986 and hv["ansible_winrm_server_cert_validation"] == "validate"
