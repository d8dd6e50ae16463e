"""ESMS-ACC-04 (who has sudo) and ESMS-ACC-07 (undeclared interactive accounts): the sudoers
parser of the collector on real files, the rules on fact fixtures, the manual-action path
from a role's task to the exit status and the report."""

from __future__ import annotations

import copy
import datetime as dt
import importlib.util
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from esms_baseline.conformance.collectors import collector_parts, remote_argv
from esms_baseline.conformance.collectors import debian_sudo as ds
from esms_baseline.conformance.rules import evaluate
from esms_baseline.conformance.rules._util import FactsUnavailable
from esms_baseline.report import render
from esms_baseline.report.summary import build
from esms_baseline.results import (
    EXIT_MANUAL_ACTION,
    MANUAL_ACTION,
    ApplyResult,
    CheckResult,
    ControlResult,
    HostApply,
    ManualAction,
    Verdict,
)
from esms_baseline.run import _Collector
from tests.unit.facts import Facts

ROOT = Path(__file__).resolve().parents[2]

# ------------------------------------------------------------------ collector: the parser


def _tree(tmp: Path) -> Path:
    (tmp / "d").mkdir()
    (tmp / "elsewhere").mkdir()
    (tmp / "sudoers").write_text(
        "# a comment\n"
        "Defaults env_reset\n"
        "root ALL=(ALL:ALL) ALL  # trailing comment\n"
        "#1001 ALL=(ALL) ALL\n"
        "%#27 ALL=(ALL) ALL\n"
        "User_Alias OPS = bob, \\\n    #1003\n"
        "OPS host1, host2 = (root) /bin/ls\n"
        "@include extra\n"
        f"#includedir {tmp / 'd'}\n"
        f"@include {tmp / 'elsewhere'}\n")
    (tmp / "extra").write_text("carol ALL=(ALL) NOPASSWD: ALL\n")
    (tmp / "d" / "dave").write_text("dave ALL=(ALL) ALL\n")
    (tmp / "d" / "skipped.bak").write_text("eve ALL=(ALL) ALL\n")
    (tmp / "d" / "skipped~").write_text("eve ALL=(ALL) ALL\n")
    return tmp / "sudoers"


def test_parser_reads_uid_rules_includes_and_reports_unreadable(tmp_path: Path) -> None:
    got = ds.read_sudoers(str(_tree(tmp_path)))
    who = {(Path(r["file"]).name, r["line"]): r["users"] for r in got["rules"]}
    assert who[("sudoers", 3)] == ["root"]
    assert who[("sudoers", 4)] == ["#1001"], "#1001 is a uid, not a comment (sudoers(5))"
    assert who[("sudoers", 5)] == ["%#27"]
    assert who[("sudoers", 8)] == ["OPS"]  # after a continued line
    assert got["user_aliases"]["OPS"] == ["bob", "#1003"]
    assert who[("extra", 1)] == ["carol"], "relative @include is relative to the file's folder"
    assert who[("dave", 1)] == ["dave"]
    assert not any("eve" in r["users"] for r in got["rules"]), "names with . or ~ are skipped"
    assert str(tmp_path / "extra") in got["files"]
    # a source that exists but cannot be read (here a folder given to @include)
    assert str(tmp_path / "elsewhere") in got["unreadable"]


def test_parser_resolves_principals() -> None:
    users, groups, other = ds.resolve_principals(
        ["#1001", "%#27", "OPS", "!mallory", "+net", "%:dom"], {"OPS": ["bob", "#1003"]},
        {1001: "mdupont", 1003: "x"}, {27: "sudo"})
    assert users == {"mdupont", "bob", "x"}
    assert groups == {"sudo"}
    assert other == {"+net", "%:dom"}


@pytest.mark.parametrize(("line", "users"), [
    ("bob ALL=(ALL) ALL", ["bob"]),
    ("bob, alice host1, host2 = (root) /bin/ls", ["bob", "alice"]),
    ("Defaults:bob !requiretty", None),
    ("bob", None),
])
def test_parse_rule(line: str, users: list[str] | None) -> None:
    assert ds.parse_rule(line) == users


def test_strip_comment_keeps_uids_and_include_directives() -> None:
    assert ds.strip_comment("#1001 ALL=(ALL) ALL") == "#1001 ALL=(ALL) ALL"
    assert ds.strip_comment("#includedir /etc/sudoers.d") == "#includedir /etc/sudoers.d"
    assert ds.strip_comment("# 1001 ALL=(ALL) ALL") == ""
    assert ds.strip_comment("bob ALL=(ALL) ALL # x") == "bob ALL=(ALL) ALL"


@pytest.mark.parametrize(("out", "rc", "allowed"), [
    ("User bob may run the following commands on h:\n    (ALL) ALL\n", 0, True),
    ("User bob is not allowed to run sudo on h.\n", 0, False),
    ("", 1, None),
    ("User alice may run the following commands on h:\n", 0, None),  # not bob's answer
])
def test_parse_sudo_list(out: str, rc: int, allowed: bool | None) -> None:
    got = ds.parse_sudo_list("bob", rc, out, "sudo: unable to resolve host h")
    assert got["allowed"] is allowed
    if allowed is None:
        assert got["error"]


def test_collector_parts_run_in_one_namespace() -> None:
    """The sudo module travels with the collector and is defined before it runs."""
    names = [n for n, _ in collector_parts("debian")]
    assert names == ["debian_sudo", "debian"]
    ns: dict[str, Any] = {"__name__": "esms_test"}
    for name, src in collector_parts("debian"):
        exec(compile(src, name, "exec"), ns)  # noqa: S102 - our own source
    assert ns["sudoers"].__code__.co_filename == "debian_sudo"
    assert "collect" in ns
    argv = remote_argv("debian")
    assert sum(len(a) for a in argv) < 64 * 1024


# ------------------------------------------------------------------ rules on fact fixtures


def _add_user(f: Facts, login: str, uid: int, *, shell: str = "/bin/bash",
              status: str = "hash", expire: int | None = None) -> None:
    f["accounts"]["users"][login] = {
        "uid": uid, "gid": uid, "primary_group": login, "groups": [login], "gecos": login,
        "full_name": login, "home": f"/home/{login}", "shell": shell, "passwd_field": "x",
        "shadow": {"status": status, "locked": status == "locked", "method": None,
                   "last_change_days": 20000, "min_days": 0, "max_days": 99999,
                   "warn_days": 7, "inactive_days": None, "expire_days": expire}}


def _rules(f: Facts, *rules: tuple[str, int, list[str]]) -> None:
    f["sudoers"]["rules"] = [{"file": "/etc/sudoers", "line": 50, "users": ["%sudo"]},
                             {"file": "/etc/sudoers.d/esms-admin", "line": 1,
                              "users": ["esms-admin"]}]
    f["sudoers"]["rules"] += [{"file": a, "line": b, "users": c} for a, b, c in rules]
    f["sudoers"]["user_aliases"] = {}


def _sudo(f: Facts, allowed: dict[str, bool | None]) -> None:
    users = {login: {"allowed": False, "rules": []} for login in f["accounts"]["users"]
             if login != "root"}
    users["esms-admin"] = {"allowed": True, "rules": ["(ALL : ALL) NOPASSWD: ALL"]}
    users["jmartin"] = {"allowed": True, "rules": ["(ALL : ALL) ALL"]}
    for login, a in allowed.items():
        users[login] = ({"allowed": a, "rules": ["(ALL) ALL"] if a else []} if a is not None
                        else {"allowed": None, "rules": [], "error": "sudo -l -U exited 1: x"})
    f["sudo"] = {"installed": True, "users": users}


def _acc04(f: Facts, v: dict[str, Any]) -> Any:
    return evaluate("debian", "ESMS-ACC-04", f, v)


def test_acc04_uid_rule_in_sudoers_is_an_undeclared_admin_and_manual(
        compliant: Facts, variables: dict[str, Any]) -> None:
    _rules(compliant, ("/etc/sudoers", 52, ["#1001"]))
    o = _acc04(compliant, variables)
    assert o.passed is False and "mdupont" in o.message
    assert o.message.startswith(MANUAL_ACTION), "a rule of /etc/sudoers itself is not edited"
    assert "/etc/sudoers:52" in str(o.found)
    # the same with sudo's answer as the authority
    _sudo(compliant, {"mdupont": True})
    o = _acc04(compliant, variables)
    assert o.passed is False and "sudo -l" in str(o.found)


def test_acc04_include_outside_sudoers_d(compliant: Facts, variables: dict[str, Any]) -> None:
    _rules(compliant, ("/opt/vendor/sudo-rules", 3, ["mdupont"]))
    _sudo(compliant, {"mdupont": True})
    o = _acc04(compliant, variables)
    assert o.passed is False and o.message.startswith(MANUAL_ACTION)
    assert "/opt/vendor/sudo-rules:3" in str(o.found)


def test_acc04_dropin_is_repairable_not_manual(compliant: Facts,
                                                variables: dict[str, Any]) -> None:
    _rules(compliant, ("/etc/sudoers.d/stagiaire", 1, ["mdupont"]))
    _sudo(compliant, {"mdupont": True})
    o = _acc04(compliant, variables)
    assert o.passed is False and not o.message.startswith(MANUAL_ACTION)


def test_acc04_sudo_is_the_authority(compliant: Facts, variables: dict[str, Any]) -> None:
    # sudo grants a right no file read explains (LDAP, a parser gap): fail, manual
    _rules(compliant)
    _sudo(compliant, {"mdupont": True})
    o = _acc04(compliant, variables)
    assert o.passed is False and "rule not found" in str(o.found)
    assert o.message.startswith(MANUAL_ACTION)
    # a rule naming someone for another host only: sudo says no right here
    _rules(compliant, ("/etc/sudoers.d/other", 1, ["mdupont"]))
    _sudo(compliant, {"mdupont": False})
    assert _acc04(compliant, variables).passed is True


def test_acc04_unreadable_source_or_failed_sudo_is_an_error(
        compliant: Facts, variables: dict[str, Any]) -> None:
    f = copy.deepcopy(compliant)
    f["sudoers"]["unreadable"] = {"/etc/sudoers.d/x": "Permission denied"}
    with pytest.raises(FactsUnavailable, match="not readable"):
        _acc04(f, variables)
    f = copy.deepcopy(compliant)
    _rules(f)
    _sudo(f, {"mdupont": None})
    with pytest.raises(FactsUnavailable, match="sudo -l -U failed"):
        _acc04(f, variables)
    f = copy.deepcopy(compliant)
    f["sudo"] = None
    f["errors"]["sudo"] = "RuntimeError: boom"
    with pytest.raises(FactsUnavailable, match="boom"):
        _acc04(f, variables)


def test_acc04_second_uid0_is_manual(compliant: Facts, variables: dict[str, Any]) -> None:
    _add_user(compliant, "toor", 0)
    o = _acc04(compliant, variables)
    assert o.passed is False and o.message.startswith(MANUAL_ACTION) and "toor" in o.message


def test_acc04_compliant_with_authority(compliant: Facts, variables: dict[str, Any]) -> None:
    _rules(compliant)
    _sudo(compliant, {})
    assert _acc04(compliant, variables).passed is True


def _acc07(f: Facts, v: dict[str, Any]) -> Any:
    return evaluate("debian", "ESMS-ACC-07", f, v)


def test_acc07_flags_undeclared_interactive_accounts(compliant: Facts,
                                                     variables: dict[str, Any]) -> None:
    assert _acc07(compliant, variables).passed is True
    _add_user(compliant, "ancien", 1010)  # deleted from the profile instead of departed
    o = _acc07(compliant, variables)
    assert o.passed is False and o.message.startswith(MANUAL_ACTION) and "ancien" in o.found
    # an explicit allowlist of known local accounts
    assert _acc07(compliant, {**variables, "esms_accounts_local_allowlist": ["ancien"]}).passed


@pytest.mark.parametrize(("kwargs", "flagged"), [
    ({"status": "locked", "shell": "/usr/sbin/nologin"}, False),  # cannot open a session
    ({"status": "locked", "shell": "/bin/bash"}, True),  # an SSH key is enough
    ({"status": "hash", "shell": "/usr/sbin/nologin"}, True),  # password usable (su, ftp...)
    ({"status": "hash", "expire": 1}, False),  # expired: PAM refuses every session
])
def test_acc07_what_is_interactive(compliant: Facts, variables: dict[str, Any],
                                   kwargs: dict[str, Any], flagged: bool) -> None:
    _add_user(compliant, "ancien", 1010, **kwargs)
    assert (_acc07(compliant, variables).passed is False) is flagged


def test_acc07_ignores_system_and_declared_accounts(compliant: Facts,
                                                    variables: dict[str, Any]) -> None:
    _add_user(compliant, "postgres", 110)
    _add_user(compliant, "accueil", 1020)  # a forbidden generic login: ESMS-ACC-02's business
    _add_user(compliant, "pleroy", 1021)  # declared departed: ESMS-ACC-03's business
    assert _acc07(compliant, variables).passed is True
    compliant["accounts"]["shadow_readable"] = False
    with pytest.raises(FactsUnavailable):
        _acc07(compliant, variables)


# ------------------------------------------------------------------ manual actions: run, CLI


def test_manual_action_tasks_are_collected_per_item() -> None:
    c = _Collector()
    res = {"results": [{"msg": "toor has UID 0 (root's rights): locked", "item": "toor"},
                       {"skipped": True, "item": "x"}]}
    c.record_manual("h1", "ESMS-ACC-04 | Manual action | accounts other than root with UID 0",
                    res)
    c.record_manual("h1", "ESMS-ACC-04 | Lock and expire the accounts", {"msg": "no"})
    c.record_manual("h1", "ESMS-ACC-05 | Manual action | empty", {"msg": "mgmt  empty\n pw"})
    assert c.host("h1")["manual"] == [
        ManualAction("ESMS-ACC-04", "toor has UID 0 (root's rights): locked"),
        ManualAction("ESMS-ACC-05", "mgmt empty pw")]


def _apply_result(**host: Any) -> ApplyResult:
    now = dt.datetime.now(dt.UTC)
    return ApplyResult(site="s", started=now, finished=now, status="successful",
                       hosts=(HostApply(host="h1", **host),), artifacts_dir="/x")


def test_apply_exit_status_with_manual_actions() -> None:
    from esms_baseline.cli.apply_cmd import render_manual_actions

    assert _apply_result().exit_code == 0
    manual = (ManualAction("ESMS-ACC-04", "toor has UID 0"),)
    r = _apply_result(manual_actions=manual)
    assert r.exit_code == EXIT_MANUAL_ACTION == 5
    text = render_manual_actions(r)
    assert "ACTION MANUELLE REQUISE" in text and "toor has UID 0" in text and "h1" in text
    assert _apply_result(manual_actions=manual, failed=1).exit_code == 1
    assert render_manual_actions(_apply_result()) == ""


def test_report_shows_manual_action_rows() -> None:
    now = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    res = CheckResult(site="s", started=now, finished=now, baseline_version="x", hosts=("h1",),
                      results=(ControlResult("h1", "ESMS-ACC-04", Verdict.FAIL, "x", "y",
                                             f"{MANUAL_ACTION}: toor (uid 0)"),
                               ControlResult("h1", "ESMS-ACC-01", Verdict.FAIL, "x", "y", "m")))
    rows = {r.result.control: r for r in build(res).rows}
    assert rows["ESMS-ACC-04"].status == "manual" and rows["ESMS-ACC-01"].status == "fail"
    html = render(res, "html", lang="fr")
    assert "Action manuelle requise" in html
    assert "Manual action required" in render(res, "html", lang="en")
    assert "action manuelle requise" in render(res, "md", lang="fr")
    doc = json.loads(render(res, "json"))
    assert {r["control"]: r["status"] for r in doc["results"]}["ESMS-ACC-04"] == "manual"
    jsonschema.validate(doc, json.loads((ROOT / "schemas/check-report.schema.json").read_text()))


# ------------------------------------------------------------------ the role's drop-in script


def _script() -> Any:
    path = ROOT / "roles/esms_accounts/files/esms_sudoers_dropins.py"
    spec = importlib.util.spec_from_file_location("esms_sudoers_dropins", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_dropin_script_principals_from_cvtsudoers_json() -> None:
    mod = _script()
    got, unknown = mod.principals(
        [{"username": "bob"}, {"userid": 0}, {"username": "alice", "negated": True},
         {"useralias": "X"}], {"X": [{"username": "carol"}, {"userid": 987654}]})
    assert got == {"bob", "root", "carol"} and unknown is False
    _, unknown = mod.principals([{"netgroup": "ng"}], {})
    assert unknown is True
    everyone, _ = mod.principals([{"username": "ALL"}], {})
    assert "root" in everyone


def test_local_allowlist_reaches_the_role_variables(tmp_path: Path) -> None:
    import yaml

    from esms_baseline.plan import host_vars
    from esms_baseline.profile import load_profile

    raw = yaml.safe_load((ROOT / "examples/site.yml").read_text(encoding="utf-8"))
    assert raw["accounts"]["local_allowlist"] == []
    raw["accounts"]["local_allowlist"] = ["maintenance"]
    path = tmp_path / "site.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    profile = load_profile(path)
    assert profile.accounts.local_allowlist == ("maintenance",)
    got = host_vars(profile, "lab-01", {u.login: f"v_{i}" for i, u in
                                        enumerate(profile.accounts.users)})
    assert got["esms_accounts_local_allowlist"] == ["maintenance"]
