"""Site profile: every validation rule, with example profiles under tests/data/profiles.

Each invalid profile marks the line of every expected problem with a trailing comment
``# ERROR: <field path> ~ <part of the message>`` (``-`` for a problem of the whole file;
several on one line are separated by `` | ``). The test checks that loading the file yields
exactly those problems (field path and line), with those words in the message.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest

from esms_baseline.errors import Problem, ProfileError
from esms_baseline.profile import SiteProfile, load_profile, validate_file

DATA = Path(__file__).resolve().parents[1] / "data" / "profiles"
VALID = sorted((DATA / "valid").glob("*.yml"))
INVALID = sorted((DATA / "invalid").glob("*.yml"))
TODAY = datetime.date(2026, 11, 23)

_MARK = re.compile(r"#\s*ERROR:\s*(.+)$")


def expectations(path: Path) -> list[tuple[str, int, str]]:
    """(field path, line, words) for every ERROR marker of the file."""
    out = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        m = _MARK.search(line)
        if not m:
            continue
        for item in m.group(1).split(" | "):
            field, _, words = item.partition(" ~ ")
            field = field.strip()
            out.append(("" if field == "-" else field, lineno, words.strip()))
    return out


def problems_of(path: Path) -> list[Problem]:
    profile, problems = validate_file(path, today=TODAY)
    assert (profile is None) == bool(problems)
    return problems


def test_data_files_exist() -> None:
    assert len(VALID) >= 10
    assert len(INVALID) >= 60
    for f in INVALID:
        assert expectations(f), f"{f.name} has no ERROR marker"


@pytest.mark.parametrize("path", VALID, ids=[p.stem for p in VALID])
def test_valid_profile_loads(path: Path) -> None:
    profile = load_profile(path, today=TODAY)
    assert isinstance(profile, SiteProfile)
    assert profile.schema_version == 1
    assert profile.firewall.management_sources


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_profile_reports_exactly_the_expected_problems(path: Path) -> None:
    expected = expectations(path)
    problems = problems_of(path)
    got = sorted((p.path, p.line) for p in problems)
    want = sorted((f, line) for f, line, _ in expected)
    assert got == want, "\n".join(str(p) for p in problems)
    for field, line, words in expected:
        (problem,) = [p for p in problems if (p.path, p.line) == (field, line)]
        assert words.lower() in problem.message.lower(), str(problem)
        assert problem.file == str(path)
        assert problem.column >= 1


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_load_profile_raises_profile_error(path: Path) -> None:
    with pytest.raises(ProfileError) as info:
        load_profile(path, today=TODAY)
    assert info.value.errors
    assert all(isinstance(p, Problem) for p in info.value.errors)


def test_plain_secret_is_never_echoed() -> None:
    problems = problems_of(DATA / "invalid" / "schema-plain-secret.yml")
    assert all("Tilleuls2026" not in str(p) for p in problems)
    problems = problems_of(DATA / "invalid" / "schema-backup-plain-password.yml")
    assert all("motdepasse" not in str(p) for p in problems)


def test_problems_are_in_file_order() -> None:
    problems = problems_of(DATA / "invalid" / "sem-many-errors.yml")
    assert len(problems) == 4
    assert [p.line for p in problems] == sorted(p.line for p in problems)


def test_exception_expiry_depends_on_today() -> None:
    path = DATA / "invalid" / "sem-exception-expired.yml"
    assert validate_file(path, today=datetime.date(2026, 11, 22))[1] == []
    assert validate_file(path, today=datetime.date(2026, 11, 23))[1]


# ------------------------------------------------------------------ files that are not profiles


def _one(path: Path) -> Problem:
    profile, problems = validate_file(path, today=TODAY)
    assert profile is None
    assert len(problems) == 1, problems
    return problems[0]


def test_missing_file(tmp_path: Path) -> None:
    p = _one(tmp_path / "absent.yml")
    assert "no such file" in p.message
    assert (p.line, p.path) == (0, "")


def test_directory(tmp_path: Path) -> None:
    assert "folder" in _one(tmp_path).message


def test_empty_file(tmp_path: Path) -> None:
    f = tmp_path / "empty.yml"
    f.write_text("")
    assert "empty" in _one(f).message
    f.write_text("# only a comment\n\n   \n")
    assert "empty" in _one(f).message


def test_binary_file(tmp_path: Path) -> None:
    f = tmp_path / "image.yml"
    f.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert "binary" in _one(f).message


def test_not_utf8(tmp_path: Path) -> None:
    f = tmp_path / "latin1.yml"
    f.write_bytes("site: {name: Résidence}\n".encode("latin-1"))
    assert "UTF-8" in _one(f).message


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    src = (DATA / "valid" / "minimal-inline.yml").read_text(encoding="utf-8")
    f = tmp_path / "bom.yml"
    f.write_bytes(b"\xef\xbb\xbf" + src.encode("utf-8"))
    assert load_profile(f, today=TODAY).site.name == "EHPAD Test"


def test_huge_file(tmp_path: Path) -> None:
    f = tmp_path / "huge.yml"
    f.write_text("# " + "x" * (1024 * 1024) + "\n")
    assert "1 MiB" in _one(f).message


def test_alias_bomb(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    f = tmp_path / "bomb.yml"
    f.write_text("\n".join(lines) + "\n")
    assert "aliases" in _one(f).message


def test_deep_nesting(tmp_path: Path) -> None:
    f = tmp_path / "deep.yml"
    f.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nested" in _one(f).message


@pytest.mark.parametrize(
    "text",
    [
        "[", "{a: 1", "a: b: c", "- a\nb: c", "\t- a", "a: 'x", "a: !!python/object:os.system x",
        "? a\n? a", "&x a: *y", "a: *undefined", "%YAML 9.9\n---\na: 1", "a: 1\n...\n---\nb: 2",
        "schema_version: 1\nsite: []", "42", "null", "~", "[1, 2]", "'text'",
        "schema_version: 1\nsite: {name: x, finess: '690009999'}\ninventory: {hosts: []}",
    ],
)
def test_garbage_never_raises_anything_but_problems(tmp_path: Path, text: str) -> None:
    f = tmp_path / "garbage.yml"
    f.write_text(text)
    profile, problems = validate_file(f, today=TODAY)
    assert profile is None
    assert problems
    assert all(p.file == str(f) for p in problems)


def test_problem_format() -> None:
    path = DATA / "invalid" / "sem-admin-not-user.yml"
    (p,) = problems_of(path)
    assert re.match(rf"^{re.escape(str(path))}:\d+:\d+: accounts\.admins\[0\]: ", str(p))
