"""Issue #10, layer 1: no text of a profile can change the meaning of a generated file.

``load_profile`` refuses control characters in every single-line text and key, overlong
texts, SFTP repositories that do not fit ssh_config, and schema patterns are anchored at the
real end of the text (Python's ``$`` matches before a final line break).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from esms_baseline.profile import validate_file
from esms_baseline.profile.schema import ecma_pattern, validate_schema
from esms_baseline.profile.text import bad_char, is_multiline, sftp_repository_problem
from esms_baseline.profile.yamlpos import read_yaml


def _profile(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema_version": 1,
        "site": {"name": "EHPAD Test", "finess": "690009999"},
        "inventory": {"hosts": {"lab-01": {}}},
        "accounts": {"management_account": "esms-admin", "users": []},
        "firewall": {"management": {"sources": ["203.0.113.0/24"]}},
        "backup": {"repository": "sftp:store@backup.example:/depot",
                   "password": {"env": "ESMS_BACKUP_PASSWORD"}},
        "banner": {"charter_version": "2026-01", "text": "Bienvenue"},
    }
    for dotted, value in over.items():
        node = doc
        *parents, last = dotted.split(".")
        for p in parents:
            node = node[p]
        node[last] = value
    return doc


def _problems(tmp_path: Path, **over: Any) -> list[str]:
    f = tmp_path / "site.yml"
    f.write_text(yaml.safe_dump(_profile(**over)), encoding="utf-8")  # escaped: \x85 stays
    profile, problems = validate_file(f)
    assert (profile is None) == bool(problems)
    return [str(p) for p in problems]


def test_the_pattern_hole_is_closed_in_the_schema_itself(tmp_path: Path) -> None:
    """Without the text pass: the schema alone refuses a trailing line break."""
    f = tmp_path / "site.yml"
    f.write_text(yaml.safe_dump(_profile(**{"accounts.management_account": "esms-admin\n"})))
    problems = validate_schema(read_yaml(f))
    assert [p.path for p in problems] == ["accounts.management_account"]
    assert "a login" in problems[0].message
    assert ecma_pattern("^[a-z]+$") == "^[a-z]+\\Z"
    assert ecma_pattern(r"^a[$]\$$") == r"^a[$]\$\Z"


HOSTILE_SINGLE_LINE = [
    "2026-01\nPasswordAuthentication yes",
    "2026-01\r\nPermitEmptyPasswords yes",
    "2026-01\x00",
    "2026-01\tX",
    "2026-01\x1b[2J",
    "2026-01\x85Match all",
    "2026-01\u2028X",
]


@pytest.mark.parametrize("value", HOSTILE_SINGLE_LINE, ids=repr)
@pytest.mark.parametrize("field", ["banner.charter_version", "site.name", "backup.repository",
                                   "accounts.management_account"])
def test_control_characters_refused_in_single_line_fields(tmp_path: Path, field: str,
                                                          value: str) -> None:
    problems = _problems(tmp_path, **{field: value})
    assert len(problems) == 1, problems
    assert f": {field}: " in problems[0]
    assert "\n" not in problems[0]  # the message itself stays on one line
    assert problems[0].split(":")[1].isdigit()  # file:line:col


@pytest.mark.parametrize("value", ['2026 "01"', "2026\\01", "$(id)", "`id`", "%h%n", "}; flush ruleset",
                                   "'; rm -rf /", "v1 # x"])
def test_printable_punctuation_is_accepted_at_layer_one(tmp_path: Path, value: str) -> None:
    """Quotes, backslashes, $(), % are legitimate in a version or a name: the second layer
    (the roles) quotes them for each syntax."""
    assert _problems(tmp_path, **{"banner.charter_version": value}) == []


def test_huge_empty_and_wrong_type(tmp_path: Path) -> None:
    assert "at most 1024" in _problems(tmp_path, **{"banner.charter_version": "9" * 5000})[0]
    assert "must not be empty" in _problems(tmp_path, **{"banner.charter_version": ""})[0]
    assert "expected text" in _problems(tmp_path, **{"banner.charter_version": ["a"]})[0]
    assert "expected text" in _problems(tmp_path, **{"banner.charter_version": 12})[0]


def test_multiline_text_allows_line_breaks_only(tmp_path: Path) -> None:
    assert _problems(tmp_path, **{"banner.text": "Ligne 1\n\tLigne 2\n"}) == []
    (p,) = _problems(tmp_path, **{"banner.text": "Ligne 1\n\x07"})
    assert "U+0007" in p and "banner.text" in p
    assert is_multiline(("exceptions", 3, "reason"))
    assert not is_multiline(("exceptions", 3, "approved_by"))


@pytest.mark.parametrize("repo,ok", [
    ("sftp:store@backup.example:/depot", True),
    ("sftp:backup.example:/depot", True),
    ("sftp://store@backup.example:2222//depot", True),
    ("s3:https://s3.example/bucket", True),
    ("/srv/restic", True),
    ("sftp:-oProxyCommand=id:/x", False),
    ("sftp:store@-oProxyCommand=id:/x", False),
    ("sftp:st ore@backup.example:/x", False),
    ("sftp:store@back up:/x", False),
    ("sftp:store@backup.example:", False),
])
def test_sftp_repository_grammar(repo: str, ok: bool) -> None:
    assert (sftp_repository_problem(repo) is None) == ok


def test_bad_char() -> None:
    assert bad_char("abc é ü 日本") is None
    assert bad_char("a\nb") == "\n"
    assert bad_char("a\nb", multiline=True) is None
    assert bad_char("a\x7fb", multiline=True) == "\x7f"


# ------------------------------------------------------------------ the plan, for library users

@pytest.mark.parametrize("field,value,words", [
    ("banner", {"charter_version": "2026\nPermitEmptyPasswords yes"}, "esms_banner_charter_version"),
    ("banner", {"text": "Bienvenue\x1b[2J"}, "esms_banner_text"),
    ("backup", {"repository": "sftp:s@h:/d\nProxyCommand id"}, "esms_backup_repository"),
    ("backup", {"repository": "sftp:s@-oProxyCommand=id:/d"}, "esms_backup_repository"),
    ("backup", {"paths": ("/srv\n/etc/shadow",)}, "esms_backup_paths[0]"),
    ("site", {"name": "x" * 2000}, "esms_site_name holds 2000 characters"),
])
def test_plan_refuses_what_validate_refuses(tmp_path: Path, field: str, value: dict[str, Any],
                                            words: str) -> None:
    """A library user who builds the profile without validate: PlanError, nothing runs."""
    import dataclasses

    from esms_baseline.errors import PlanError
    from esms_baseline.plan import build_plan
    from esms_baseline.profile import load_profile

    f = tmp_path / "site.yml"
    f.write_text(yaml.safe_dump(_profile()), encoding="utf-8")
    profile = load_profile(f)
    hostile = dataclasses.replace(profile, **{field: dataclasses.replace(getattr(profile, field),
                                                                          **value)})
    with pytest.raises(PlanError) as info:
        build_plan(hostile)
    assert "lab-01" in str(info.value) and words in str(info.value)
    assert build_plan(dataclasses.replace(hostile, **{field: getattr(profile, field)})).hosts
