"""The catalogue is the single source of truth: check it, and check that what it claims
exists (tasks tagged with each implemented control, a conformance test for each)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from esms_baseline.catalogue import SOCLE, load_catalogue
from esms_baseline.cli import main
from esms_baseline.resources import roles_dir

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "esms_baseline" / "conformance" / "suite"
CAT = load_catalogue()


def _walk_tasks(node: Any, inherited: frozenset[str], out: dict[str, set[str]], names: list[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk_tasks(item, inherited, out, names)
        return
    if not isinstance(node, dict):
        return
    tags = node.get("tags") or []
    if isinstance(tags, str):
        tags = [tags]
    here = inherited | frozenset(str(t) for t in tags)
    if "name" in node and isinstance(node["name"], str):
        names.append(node["name"])
    for key in ("block", "rescue", "always"):
        if key in node:
            _walk_tasks(node[key], here, out, names)
    for t in here:
        out.setdefault(t, set()).add(str(node.get("name", "")))


def _role_tags(role: str) -> tuple[dict[str, set[str]], list[str]]:
    """Tags on the tasks of a role, following static imports from tasks/main.yml."""
    tasks_dir = roles_dir() / role / "tasks"
    out: dict[str, set[str]] = {}
    names: list[str] = []

    def load(path: Path, inherited: frozenset[str]) -> None:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        for task in doc:
            tags = task.get("tags") or []
            tags = [tags] if isinstance(tags, str) else tags
            here = inherited | frozenset(str(t) for t in tags)
            imp = task.get("ansible.builtin.import_tasks") or task.get("import_tasks")
            if isinstance(imp, dict):
                imp = imp.get("file")
            if imp:
                load((path.parent / imp) if (path.parent / imp).exists() else tasks_dir / imp, here)
                continue
            _walk_tasks(task, here, out, names)

    load(tasks_dir / "main.yml", frozenset())
    return out, names


def _suite_tests(pattern: str = "test_*.py") -> set[str]:
    names: set[str] = set()
    for f in SUITE.glob(pattern):
        tree = ast.parse(f.read_text(encoding="utf-8"))
        names |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    return names


def test_every_socle_point_has_a_control() -> None:
    assert {c.socle for c in CAT.controls} == set(SOCLE)


def test_ids_are_unique_and_well_formed() -> None:
    assert len(set(CAT.ids)) == len(CAT.ids)
    for cid in CAT.ids:
        assert re.fullmatch(r"ESMS-[A-Z]{2,4}-\d{2}", cid)


def test_bilingual_texts_and_references() -> None:
    for c in CAT.controls:
        assert c.title.fr and c.title.en and c.rationale.fr and c.rationale.en, c.id
        assert c.anssi, f"{c.id} cites no ANSSI measure"
        assert all(1 <= n <= 42 for n in c.anssi), c.id


def test_organisational_controls_say_why_they_are_manual() -> None:
    for c in CAT.controls:
        if c.kind == "organisational":
            assert c.manual_note is not None and not c.platforms, c.id


def _tagged_names(role: str) -> dict[str, set[str]]:
    tags, _ = _role_tags(role)
    return tags


@pytest.mark.parametrize(
    ("control", "platform"),
    [(c, p) for c in CAT.controls for p in ("debian", "windows") if c.implemented_on(p)],
    ids=lambda v: v if isinstance(v, str) else v.id,
)
def test_implemented_control_has_tagged_tasks_named_with_a_control_id(control: Any, platform: str) -> None:
    """Every implemented control has tasks tagged with its id; every task so tagged is named
    with a control id among its own tags (one ruleset task may serve several controls, as the
    firewall's does: its tasks are named ESMS-FW-01 and tagged FW-01, FW-02 and FW-03)."""
    assert control.role, control.id
    tags = _tagged_names(control.role)
    assert control.id in tags, f"no task of role {control.role} is tagged {control.id}"
    os_file = "debian.yml" if platform == "debian" else "windows.yml"
    assert (roles_dir() / control.role / "tasks" / os_file).is_file()
    for name in tags[control.id]:
        if not name:
            continue
        m = re.match(r"(ESMS-[A-Z]{2,4}-\d{2})", name)
        assert m, f"task {name!r} tagged {control.id} is not named with a control id"
        assert name in tags.get(m.group(1), set()), f"task {name!r} is not tagged with its own id"


@pytest.mark.parametrize(
    ("control", "suite"),
    [(c, "test_debian.py") for c in CAT.controls if c.implemented_on("debian")]
    + [(c, "test_windows.py") for c in CAT.controls if c.implemented_on("windows")]
    + [(c, "test_*.py") for c in CAT.controls if c.kind == "organisational"],
    ids=lambda v: v if isinstance(v, str) else v.id,
)
def test_control_has_a_conformance_test(control: Any, suite: str) -> None:
    assert control.test_name in _suite_tests(suite), f"no {control.test_name} in {SUITE}/{suite}"


def test_every_implemented_control_has_a_rule() -> None:
    from esms_baseline.conformance.rules import RULES

    for platform in ("debian", "windows"):
        for c in CAT.for_platform(platform):
            assert c.id in RULES[platform], f"no {platform} rule for {c.id}"


def test_every_task_name_in_roles_starts_with_a_known_control_id() -> None:
    known = set(CAT.ids)
    for role_dir in sorted(p for p in roles_dir().iterdir() if p.is_dir()):
        _, names = _role_tags(role_dir.name)
        for name in names:
            m = re.match(r"(ESMS-[A-Z]{2,4}-\d{2})", name)
            if role_dir.name == "esms_preflight" and not m:
                continue
            assert m and m.group(1) in known, f"{role_dir.name}: task {name!r} has no control id"


def test_controls_cli_table_json_and_socle_filter(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["controls"]) == 0
    out = capsys.readouterr().out
    for cid in CAT.ids:
        assert cid in out
    assert "cnil-2022-case2" in out
    assert main(["controls", "--json", "--socle", "5"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["controls"] and {c["socle"] for c in doc["controls"]} == {5}
    assert {c["id"] for c in doc["controls"]} == {c.id for c in CAT.by_socle(5)}
    assert doc["presets"]["cnil-2022-case1-complex"]["min_length"] == 12
