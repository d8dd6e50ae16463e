"""``apply --drifted`` (esms_baseline/converge.py): which controls are re-applied where, and the
static safety of running one control's tasks alone (by its tags).

The roles are read as YAML: for each per-OS task file (debian.yml, windows.yml), every entry
must be an import of one control's tasks tagged with its id; a variable a control's tasks
register or set may be read by another control's tasks only if every tag of the reader also
selects the writer (otherwise ``--tags <reader>`` would run it with the variable undefined or
stale). The lab test tests/integration/test_converge.py proves the behaviour on hosts.
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from esms_baseline.converge import ALL, batches, targets
from esms_baseline.plan import build_plan
from esms_baseline.profile import load_profile
from esms_baseline.results import CheckResult, ControlResult, Verdict

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "roles"
CONTROL_ID = re.compile(r"^ESMS-[A-Z]{2,4}-\d{2}$")
OS_FILES = [p for p in sorted(ROLES.glob("*/tasks/*.yml")) if p.stem in ("debian", "windows")]


def _tasks(path: Path) -> list[dict[str, Any]]:
    """Every task of a task file, blocks and static imports followed."""
    out: list[dict[str, Any]] = []

    def walk(items: list[dict[str, Any]] | None, here: Path) -> None:
        for t in items or []:
            for key in ("block", "rescue", "always"):
                walk(t.get(key), here)
            imp = t.get("ansible.builtin.import_tasks") or t.get("import_tasks")
            if imp:
                walk(yaml.safe_load((here.parent / imp).read_text(encoding="utf-8")), here.parent / imp)
            out.append(t)

    walk(yaml.safe_load(path.read_text(encoding="utf-8")), path)
    return out


def _defined(tasks: list[dict[str, Any]]) -> set[str]:
    """Variables the tasks register or set (set_fact, and the facts getent sets)."""
    names = {t["register"] for t in tasks if "register" in t}
    for t in tasks:
        ge = t.get("ansible.builtin.getent") or t.get("getent")
        if isinstance(ge, dict):
            dbs = t.get("loop") if "{{" in str(ge.get("database")) else [ge.get("database")]
            names |= {f"getent_{db}" for db in dbs or [] if isinstance(db, str)}
    for t in tasks:
        sf = t.get("ansible.builtin.set_fact") or t.get("set_fact")
        if isinstance(sf, dict):
            names |= {k for k in sf if k != "cacheable"}
    return names


def _with_role_vars(text: str, os_file: Path) -> str:
    """``text`` followed by the definitions of the role variables (vars/main.yml) it mentions,
    so that a variable derived from a registered one counts as reading it."""
    vars_file = os_file.parents[1] / "vars" / "main.yml"
    role_vars = yaml.safe_load(vars_file.read_text(encoding="utf-8")) if vars_file.exists() else {}
    for _ in range(3):
        text += "".join(f"\n{v}" for k, v in (role_vars or {}).items()
                        if re.search(rf"\b{re.escape(k)}\b", text) and str(v) not in text)
    return text


def _imports(os_file: Path) -> list[tuple[set[str], str, list[dict[str, Any]], str]]:
    """(tags, name, tasks, text) of each entry of a per-OS task file: an import of one
    control's tasks, or a task shared by every control (tagged ``always``)."""
    out = []
    for entry in yaml.safe_load(os_file.read_text(encoding="utf-8")) or []:
        tags = {t for t in entry.get("tags", []) if CONTROL_ID.match(t) or t == "always"}
        assert tags, f"{os_file}: {entry.get('name')!r} carries neither a control id tag nor " \
                     "'always': it would not run under --drifted (--tags <control id>)"
        imp = entry.get("ansible.builtin.import_tasks")
        if imp:
            path = os_file.parent / imp
            out.append((tags, path.name, _tasks(path), _with_role_vars(path.read_text(encoding="utf-8"), os_file)))
        else:
            out.append((tags, str(entry.get("name")), [entry], _with_role_vars(yaml.safe_dump(entry), os_file)))
    return out


@pytest.mark.parametrize("os_file", OS_FILES, ids=lambda p: f"{p.parts[-3]}/{p.name}")
def test_a_control_selected_alone_brings_what_its_tasks_read(os_file: Path) -> None:
    entries = _imports(os_file)
    problems = []
    for r_tags, r_name, r_tasks, r_text in entries:
        own = _defined(r_tasks)
        for w_tags, w_name, w_tasks, _ in entries:
            if w_name == r_name or "always" in w_tags:
                continue
            for var in sorted(_defined(w_tasks) - own):
                if re.search(rf"\b{re.escape(var)}\b", r_text) and not r_tags <= w_tags:
                    problems.append(f"{r_name} reads {var} set by {w_name}: "
                                    f"tag {sorted(w_tags)} with {sorted(r_tags - w_tags)}")
    assert not problems, problems


def test_every_control_of_the_catalogue_is_selected_by_its_own_tag() -> None:
    from esms_baseline.catalogue import load_catalogue

    tagged: dict[str, set[str]] = {}
    for os_file in OS_FILES:
        for tags, _, _, _ in _imports(os_file):
            for t in tags:
                tagged.setdefault(os_file.stem, set()).add(t)
    for c in load_catalogue().controls:
        for platform in ("debian", "windows"):
            if c.kind == "automated" and c.implemented_on(platform):
                assert c.id in tagged.get(platform, set()), (platform, c.id)


# --- which controls, which hosts ---------------------------------------------------------------

def _result(rows: list[tuple[str, str, Verdict]]) -> CheckResult:
    now = _dt.datetime.now(_dt.UTC)
    return CheckResult(site="s", started=now, finished=now, baseline_version="t",
                       hosts=tuple(sorted({h for h, _, _ in rows if h != "(site)"})),
                       results=tuple(ControlResult(host=h, control=c, verdict=v) for h, c, v in rows))


@pytest.fixture(scope="module")
def plan() -> Any:
    return build_plan(load_profile(ROOT / "examples" / "site.yml"))


def test_targets_reapply_failed_and_errored_automated_controls_only(plan: Any) -> None:
    res = _result([
        ("lab-01", "ESMS-BAN-01", Verdict.FAIL),
        ("lab-01", "ESMS-PWD-01", Verdict.ERROR),
        ("lab-01", "ESMS-PWD-02", Verdict.PASS),
        ("lab-01", "ESMS-LOCK-01", Verdict.EXCEPTED),
        ("lab-01", "ESMS-LOCK-04", Verdict.NOT_APPLICABLE),
        ("lab-02", "ESMS-BAN-01", Verdict.PASS),
        ("lab-03", "ESMS-FW-01", Verdict.UNREACHABLE),
        ("lab-03", "ESMS-BAN-01", Verdict.UNREACHABLE),
        ("(site)", "ESMS-ORG-01", Verdict.FAIL),  # organisational: nothing to apply
        ("elsewhere", "ESMS-BAN-01", Verdict.FAIL),  # not a host of the plan
    ])
    # lab-02 passes what it was checked for; a host the check says nothing about is applied fully
    assert targets(res, plan) == {"lab-01": {"ESMS-BAN-01", "ESMS-PWD-01"}, "lab-03": ALL}
    assert targets(_result([("lab-01", "ESMS-BAN-01", Verdict.PASS),
                            ("lab-02", "ESMS-BAN-01", Verdict.PASS)]), plan) == {"lab-03": ALL}


def test_batches_group_hosts_needing_the_same_controls() -> None:
    todo = {"a": frozenset({"X"}), "b": frozenset({"X"}), "c": frozenset({"Y"})}
    assert batches(todo) == [(("a", "b"), frozenset({"X"})), (("c",), frozenset({"Y"}))]


def test_batches_past_max_runs_merge_the_rest_with_the_union() -> None:
    todo = {"a": frozenset({"X"}), "b": frozenset({"X"}), "c": frozenset({"Y"}), "d": frozenset({"Z"})}
    assert batches(todo, max_runs=2) == [(("a", "b"), frozenset({"X"})), (("c", "d"), frozenset({"Y", "Z"}))]
    todo["e"] = ALL
    assert batches(todo, max_runs=2)[-1] == (("c", "d", "e"), ALL)
    assert batches({}) == []


@pytest.mark.parametrize("extra", [["--check"], ["--controls", "ESMS-BAN-01"]])
def test_cli_drifted_refuses_check_and_controls(extra: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from esms_baseline.cli import main

    assert main(["apply", str(ROOT / "examples" / "site.yml"), "--drifted", *extra]) == 2
    assert "--drifted chooses the controls itself" in capsys.readouterr().err


def test_drifted_refuses_to_start_without_its_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    from esms_baseline.converge import apply_drifted
    from esms_baseline.errors import RunError

    profile = load_profile(ROOT / "examples" / "site.yml")
    for env in build_plan(profile).secret_env.values():
        monkeypatch.delenv(env, raising=False)
    with pytest.raises(RunError, match="ESMS_PW_"):  # before any check or connection
        apply_drifted(profile)
