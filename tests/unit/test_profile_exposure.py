"""Profile rules of esms_baseline.profile.exposure, and the secret variables of the plan:
management open to the Internet, shared or colliding initial passwords, the pinned backup
store key."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from esms_baseline.plan import build_plan, login_token
from esms_baseline.profile import load_profile, validate_file

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "site.yml"


def _profile(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    edit(doc)
    path = tmp_path / "site.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _messages(path: Path) -> list[str]:
    _, problems = validate_file(path)
    return [str(p) for p in problems]


@pytest.mark.parametrize("sources", [["0.0.0.0/0"], ["::/0"], ["10.0.0.0/8", "::/0"],
                                     ["0.0.0.0/1", "128.0.0.0/1"], ["0.0.0.0/0", "::/0"]])
def test_management_open_to_everyone_needs_a_justification(tmp_path: Path,
                                                           sources: list[str]) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["firewall"]["management"]["sources"] = sources

    msgs = _messages(_profile(tmp_path, edit))
    assert len(msgs) == 1 and "firewall.management.sources" in msgs[0], msgs
    assert "whole Internet" in msgs[0] and "justification" in msgs[0]
    assert re.search(r"site\.yml:\d+:\d+: firewall\.management\.sources:", msgs[0])

    def justified(doc: dict[str, Any]) -> None:
        edit(doc)
        doc["firewall"]["management"]["justification"] = "Astreinte nomade, décision DSI 2026-03"

    assert _messages(_profile(tmp_path, justified)) == []


def test_narrow_management_sources_need_nothing(tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["firewall"]["management"]["sources"] = ["0.0.0.0/1", "203.0.113.0/24"]

    assert _messages(_profile(tmp_path, edit)) == []


def test_two_accounts_naming_one_initial_password_is_an_error(tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["accounts"]["users"][1]["initial_password"] = {"env": "ESMS_PW_JMARTIN"}

    msgs = _messages(_profile(tmp_path, edit))
    assert len(msgs) == 1 and "'mdupont' names the same initial password as 'jmartin'" in msgs[0]


def test_logins_differing_by_punctuation_get_distinct_secret_variables(tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        users = doc["accounts"]["users"]
        users[0]["login"], users[1]["login"] = "m-dupont", "m_dupont"
        doc["accounts"]["admins"] = ["m-dupont"]

    profile = load_profile(_profile(tmp_path, edit))
    plan = build_plan(profile)
    var = {u["login"]: u["initial_password_var"]
           for u in plan.hosts[0].vars["esms_accounts_users"]}
    assert var["m-dupont"] != var["m_dupont"]
    assert plan.secret_env[var["m-dupont"]] == "ESMS_PW_JMARTIN"
    assert plan.secret_env[var["m_dupont"]] == "ESMS_PW_MDUPONT"


@pytest.mark.parametrize("pair", [("m-dupont", "m_dupont"), ("a_2d_", "a-"), ("a_", "a_5f_"),
                                  ("ab", "a_62_")])
def test_login_token_is_injective(pair: tuple[str, str]) -> None:
    a, b = pair
    assert login_token(a) != login_token(b)
    assert login_token(a).isidentifier() and login_token(a) == login_token(a).lower()


def test_store_host_key_pinned_or_refused(tmp_path: Path) -> None:
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDVTAbE/jaTQwd4N5hlsGO1a8Q8PsrFg5yaabpi+H6yU"

    def good(doc: dict[str, Any]) -> None:
        doc["backup"]["store_host_key"] = key

    profile = load_profile(_profile(tmp_path, good))
    assert build_plan(profile).hosts[0].vars["esms_backup_store_host_key"] == key
    for bad in (key + "\n", key + "\nevil.example ssh-rsa AAAA", "ssh-dss AAAA", key + " root@x"):
        def edit(doc: dict[str, Any], bad: str = bad) -> None:
            doc["backup"]["store_host_key"] = bad

        msgs = _messages(_profile(tmp_path, edit))
        assert msgs and all("backup.store_host_key" in m for m in msgs), (bad, msgs)

    def not_sftp(doc: dict[str, Any]) -> None:
        doc["backup"]["store_host_key"] = key
        doc["backup"]["repository"] = "s3:https://s3.example/bucket"

    assert any("only used with an sftp" in m for m in _messages(_profile(tmp_path, not_sftp)))
