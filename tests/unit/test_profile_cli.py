"""`esms-baseline validate` and `esms-baseline schema`; the schema file itself, and its
consistency with the control catalogue."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from esms_baseline.catalogue import load_catalogue
from esms_baseline.cli import main
from esms_baseline.profile import SCHEMA_ID, load_schema

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "profiles"
SCHEMA_FILE = ROOT / "schemas" / "site-profile.schema.json"
EXAMPLES = [ROOT / "examples" / "site.yml", ROOT / "examples" / "site-minimal.yml",
            ROOT / "examples" / "site-mixed.yml",
            ROOT / "examples" / "site-prestataires.yml"]
TODAY = "2026-11-23"
LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<path>\S+): (?P<msg>.+)$")


# ------------------------------------------------------------------------------ validate


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_examples_validate(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--today", TODAY, str(example)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "valid profile" in out


def test_validate_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--today", TODAY, str(EXAMPLES[0])]) == 0
    out = capsys.readouterr().out
    assert "EHPAD Les Tilleuls" in out
    assert "hosts: 3 (lab-01, lab-02, lab-03)" in out
    assert "serveurs, postes_soins, bureaux" in out
    assert "ESMS-LOCK-01 on lab-01 until 2027-06-30" in out


def test_validate_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "-q", "--today", TODAY, str(EXAMPLES[1])]) == 0
    assert capsys.readouterr().out == ""


def test_validate_invalid_lists_every_error(capsys: pytest.CaptureFixture[str]) -> None:
    f = DATA / "invalid" / "sem-many-errors.yml"
    assert main(["validate", "--today", TODAY, str(f)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    problems = [LINE.match(ln) for ln in lines[:-1]]
    assert all(problems), lines
    assert [m["path"] for m in problems if m] == [
        "accounts.users[1].login", "accounts.admins[0]", "firewall.management.sources[1]",
        "exceptions[0].expires"]
    assert all(m["file"] == str(f) for m in problems if m)
    assert "4 error(s)" in lines[-1]
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "name", sorted(p.name for p in (DATA / "invalid").glob("*.yml")))
def test_validate_invalid_exit_2(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--today", TODAY, str(DATA / "invalid" / name)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert err.count("\n") >= 2


def test_validate_several_files(capsys: pytest.CaptureFixture[str]) -> None:
    bad = DATA / "invalid" / "sem-admin-not-user.yml"
    assert main(["validate", "--today", TODAY, str(EXAMPLES[1]), str(bad)]) == 2
    out, err = capsys.readouterr()
    assert "valid profile" in out
    assert str(bad) in err


@pytest.mark.parametrize("target", ["absent.yml", "."])
def test_validate_missing_file_or_folder(target: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / target
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert ("no such file" in err) or ("folder" in err)
    assert "Traceback" not in err


def test_validate_binary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "x.yml"
    f.write_bytes(bytes(range(256)))
    assert main(["validate", str(f)]) == 2
    assert "binary" in capsys.readouterr().err


def test_validate_needs_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["validate"])
    assert info.value.code == 2


# -------------------------------------------------------------------------------- schema


def test_schema_command_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    doc = json.loads(out)
    assert doc == json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(doc)


def test_schema_is_2020_12_with_a_stable_id() -> None:
    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == SCHEMA_ID == "https://esms-baseline.example/schemas/site-profile/v1.json"


def _subschemas(node: Any, path: str = "#") -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        out.append((path, node))
        for k, v in node.items():
            if k in ("enum", "const", "default", "required"):
                continue
            out += _subschemas(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _subschemas(v, f"{path}/{i}")
    return out


def test_every_object_is_closed() -> None:
    for where, node in _subschemas(load_schema()):
        if "properties" in node:
            assert node.get("additionalProperties") is False, where


def test_every_property_has_bilingual_title_and_description() -> None:
    schema = load_schema()
    for where, node in _subschemas(schema):
        for name, prop in (node.get("properties") or {}).items():
            target = prop
            if "$ref" in prop and "title" not in prop:
                target = _resolve(schema, prop["$ref"])
            assert " / " in target.get("title", ""), f"{where}/{name}: title 'FR / EN'"
            desc = target.get("description", "")
            assert desc.startswith("FR : ") and "\nEN: " in desc, f"{where}/{name}"


def _resolve(schema: dict[str, Any], ref: str) -> dict[str, Any]:
    node: Any = schema
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    assert isinstance(node, dict)
    return node


def _lookup(schema: dict[str, Any], dotted: str) -> dict[str, Any] | None:
    node: dict[str, Any] = schema
    for part in dotted.split("."):
        while "$ref" in node:
            node = _resolve(schema, node["$ref"])
        props = node.get("properties") or {}
        if part not in props:
            return None
        node = props[part]
    while "$ref" in node:
        node = {**_resolve(schema, node["$ref"]), **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def test_catalogue_parameters_exist_in_the_schema() -> None:
    schema = load_schema()
    params = [(c.id, p) for c in load_catalogue() for p in c.parameters]
    assert params
    for cid, p in params:
        node = _lookup(schema, p.profile_path)
        assert node is not None, f"{cid}: {p.profile_path} is not in the schema"
        if p.default is not None and "default" in node:
            assert node["default"] == p.default, f"{cid}: {p.profile_path} default"
        if p.enum:
            assert set(p.enum) <= set(node.get("enum") or ()), f"{cid}: {p.profile_path} enum"


def test_schema_presets_are_the_catalogue_presets() -> None:
    node = _lookup(load_schema(), "passwords.preset")
    assert node is not None
    assert [e for e in node["enum"] if e is not None] == list(load_catalogue().presets)
    assert None in node["enum"]


def test_examples_declare_the_schema() -> None:
    for example in EXAMPLES:
        first = example.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schemas/site-profile.schema.json"
