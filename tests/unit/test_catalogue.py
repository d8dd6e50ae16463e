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


def _suite_tests() -> set[str]:
    names: set[str] = set()
    for f in SUITE.glob("test_*.py"):
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


@pytest.mark.parametrize(
    "control", [c for c in CAT.controls if c.implemented_on("debian")], ids=lambda c: c.id
)
def test_implemented_debian_control_has_tagged_tasks_named_with_its_id(control: Any) -> None:
    assert control.role, control.id
    tags, _ = _role_tags(control.role)
    assert control.id in tags, f"no task of role {control.role} is tagged {control.id}"
    for name in tags[control.id]:
        if name:
            assert name.startswith(control.id), f"task {name!r} tagged {control.id} is not named with it"


@pytest.mark.parametrize(
    "control", [c for c in CAT.controls if c.implemented_on("debian") or c.kind == "organisational"],
    ids=lambda c: c.id,
)
def test_control_has_a_conformance_test(control: Any) -> None:
    assert control.test_name in _suite_tests(), f"no {control.test_name} in {SUITE}"


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
