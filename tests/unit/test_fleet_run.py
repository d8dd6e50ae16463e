"""The fleet check in one conformance run: merging the sites' plans, splitting the results
back per site, and the per-site aggregation (history, exit status) of ``check_fleet``. The
end-to-end test runs the real pytest subprocess on this machine (local://) for two sites
whose hosts share a name, plus an unreachable host."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest

from esms_baseline.conformance import CheckPlan, CheckTarget
from esms_baseline.conformance.fleet_run import (
    check_many,
    merged_plan,
    split_collect,
    split_results,
)
from esms_baseline.errors import EsmsError, PlanError
from esms_baseline.history import History
from esms_baseline.results import SITE_HOST, ControlResult, Verdict
from tests.unit.test_fleet import site
from tests.unit.test_report import make_result

DATA = Path(__file__).resolve().parents[1] / "data" / "facts"
VARS: dict[str, Any] = json.loads((DATA / "vars-compliant.json").read_text(encoding="utf-8"))


def test_split_results_gives_each_site_its_rows_with_the_host_names_back() -> None:
    rows = [ControlResult("0|pc|1", "ESMS-LOCK-01", Verdict.PASS),
            ControlResult(f"1|{SITE_HOST}", "ESMS-ORG-01", Verdict.FAIL),
            ControlResult("1|pc|1", "ESMS-LOCK-01", Verdict.UNREACHABLE, message="down"),
            ControlResult("stray", "ESMS-LOCK-01", Verdict.PASS),   # never written: dropped
            ControlResult("x|pc", "ESMS-LOCK-01", Verdict.PASS)]
    out = split_results(rows)
    assert sorted(out) == [0, 1]
    assert [(r.host, r.verdict) for r in out[0]] == [("pc|1", Verdict.PASS)]
    assert [(r.host, r.verdict) for r in out[1]] == [(SITE_HOST, Verdict.FAIL),
                                                     ("pc|1", Verdict.UNREACHABLE)]
    collect = split_collect({"wall_seconds": 2.0, "hosts": {"0|a": {"seconds": 1},
                                                            "1|a": {"error": "x"}, "b": {}}})
    assert collect == {0: {"wall_seconds": 2.0, "hosts": {"a": {"seconds": 1}}},
                       1: {"wall_seconds": 2.0, "hosts": {"a": {"error": "x"}}}}


def test_merged_plan_names_hosts_per_site_and_keeps_each_site_ssh_config(tmp_path: Path) -> None:
    from esms_baseline.conformance.fleet_run import _Site

    def one(i: int, cfg: str, wanted: list[tuple[str, str]]) -> _Site:
        plan = CheckPlan(f"S{i}", (CheckTarget("pc", "debian", "ssh://pc"),
                                   CheckTarget("off", "debian", "ssh://off")),
                         organisation={"ESMS-ORG-01": {"date": None}},
                         ssh_config=tmp_path / cfg, today=dt.date(2026, 1, 2))
        return _Site(i, plan, wanted, {}, {}, wanted)

    plan, extra = merged_plan([one(0, "a cfg", [("pc", "ESMS-LOCK-01")]),
                               one(3, "b", [("pc", "ESMS-LOCK-01"), (SITE_HOST, "ESMS-ORG-01")])])
    assert [h.name for h in plan.hosts] == ["0|pc", "3|pc"]  # "off": nothing to run there
    assert plan.hosts[0].testinfra_url == f"ssh://pc?ssh_config={tmp_path}/a%20cfg"
    assert plan.hosts[1].testinfra_url.endswith("/b")
    assert extra == [{"index": 3, "organisation": {"ESMS-ORG-01": {"date": None}},
                      "today": "2026-01-02"}]


@pytest.mark.skipif(os.geteuid() != 0, reason="the collector reads /etc/shadow")
def test_check_many_one_run_split_per_site(tmp_path: Path) -> None:
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text("Host ghost\n  ProxyCommand false\n  BatchMode yes\n", encoding="utf-8")
    a = CheckPlan("Site A", (CheckTarget("pc", "debian", "local://", VARS),
                             CheckTarget("ghost", "debian", "ssh://ghost", VARS)),
                  organisation={"ESMS-ORG-01": {"date": "2026-10-01", "document": "PCA v3"}},
                  ssh_config=ssh_config, today=dt.date(2026, 11, 23))
    b = CheckPlan("Site B", (CheckTarget("pc", "debian", "local://", VARS,
                                         {"ESMS-LOCK-01": "kiosque"}),),
                  today=dt.date(2026, 11, 23))
    ra, rb = check_many([a, b], controls=["ESMS-LOCK-01", "ESMS-ORG-01"])
    assert not isinstance(ra, EsmsError) and not isinstance(rb, EsmsError)
    run_a, run_b = ra.details["conformance_run"], rb.details["conformance_run"]
    assert run_a == run_b and run_a["sites"] == 2 and run_a["hosts"] == 3  # ONE test run
    va = {(r.host, r.control): r.verdict for r in ra.results}
    vb = {(r.host, r.control): r.verdict for r in rb.results}
    assert va[("ghost", "ESMS-LOCK-01")] is Verdict.UNREACHABLE  # only its own rows
    assert va[("pc", "ESMS-LOCK-01")] in (Verdict.PASS, Verdict.FAIL)
    assert vb == {("pc", "ESMS-LOCK-01"): Verdict.EXCEPTED,  # site B's own exception
                  (SITE_HOST, "ESMS-ORG-01"): Verdict.FAIL}  # and its own (missing) evidence
    assert va[(SITE_HOST, "ESMS-ORG-01")] is Verdict.PASS
    assert ra.site == "Site A" and ra.hosts == ("pc", "ghost") and rb.hosts == ("pc",)
    assert set(ra.details["collect"]["hosts"]) == {"pc", "ghost"}
    with pytest.raises(PlanError):
        check_many([a], controls=["ESMS-NOPE-01"])


def test_check_fleet_records_each_site_and_aggregates(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The run itself replaced (its own test is above): a site whose preparation failed is
    status 3 and the others are recorded under their names; a bad profile is 2."""
    import esms_baseline.conformance.fleet_run as fr
    from esms_baseline import fleet_check

    good = [site(tmp_path, "Site A"), site(tmp_path, "Site B"), site(tmp_path, "Site C")]
    bad = site(tmp_path, "x", text="schema_version: 1\nsite: {name: X}\n", file="bad.yml")
    calls: list[list[str]] = []

    def fake(plans: list[CheckPlan], **kw: Any) -> list[Any]:
        calls.append([p.site_name for p in plans])
        return [make_result(site="Site A", hosts=("h1",)),
                EsmsError("cannot read inventory x"),
                make_result(site="Site C", hosts=("h1",),
                            fail={("h1", "ESMS-LOCK-01"): ("0", "900")})]

    monkeypatch.setattr(fr, "check_many", fake)
    monkeypatch.setattr("esms_baseline.plan.build_check_plan",
                        lambda profile, inventory=None: CheckPlan(profile.site.name, ()))
    db = tmp_path / "h.sqlite"
    fleet = fleet_check.check_fleet("drift", [*good, bad], history=db)
    assert calls == [["Site A", "Site B", "Site C"]]  # one run for the valid sites
    by = {s.profile.name: s for s in fleet.sites}
    assert by["site-b.yml"].exit_code == 3 and "cannot read" in by["site-b.yml"].errors[0]
    assert by["bad.yml"].exit_code == 2
    c = by["site-c.yml"]
    assert c.new_drift == c.failed > 0 and c.exit_code == 4  # first run: all new
    assert fleet.exit_code == 4
    with History(db) as h:
        assert sorted(h.sites()) == ["Site A", "Site C"]


def test_inventories_read_once_then_given_to_testinfra(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Within a fleet's preparation an unchanged inventory file is read by ansible-inventory
    once; a changed one is read again; outside the block nothing is cached. testinfra then
    gets that reading instead of running ansible-inventory itself."""
    import subprocess

    from esms_baseline import plan as planmod
    from esms_baseline.conformance.fleet_run import known_inventories
    from esms_baseline.conformance.plugin import seed_inventories

    inv = tmp_path / "inv.yml"
    inv.write_text("all:\n  hosts:\n    h1: {ansible_host: 127.0.0.9}\n")
    calls: list[list[str]] = []
    real = subprocess.run

    def counting(cmd: Any, *a: Any, **kw: Any) -> Any:
        calls.append(list(cmd))
        return real(cmd, *a, **kw)

    monkeypatch.setattr(subprocess, "run", counting)
    with planmod.inventories_read_once():
        first = planmod._ansible_inventory_list([inv])
        assert planmod._ansible_inventory_list([inv]) == first and len(calls) == 1
        first["_meta"] = {}  # a caller's change never reaches the next reader
        assert planmod._ansible_inventory_list([inv])["_meta"]["hostvars"]["h1"]
        inv.write_text("all:\n  hosts:\n    h2: {}\n")
        assert '"h2"' in json.dumps(planmod._ansible_inventory_list([inv]))
        assert len(calls) == 2
        plan = CheckPlan("S", (CheckTarget("h2", "debian", f"ansible://h2?ansible_inventory={inv}"),
                               CheckTarget("x", "debian", "ssh://x")))
        known = known_inventories(plan)
    assert list(known) == [str(inv)] and '"h2"' in known[str(inv)]
    planmod._ansible_inventory_list([inv])
    assert len(calls) == 3 and planmod.cached_inventory_text([inv]) is None
    from testinfra.utils.ansible_runner import AnsibleRunner

    seed_inventories({str(tmp_path / "seeded.yml"): '{"all": {"hosts": ["z"]}}'})
    assert AnsibleRunner.get_runner(str(tmp_path / "seeded.yml")).get_hosts("all") == ["z"]


def test_an_inventory_with_secrets_is_never_written_to_the_run_file() -> None:
    from esms_baseline.conformance.fleet_run import may_hold_secrets

    def listing(hv: dict[str, Any]) -> str:
        return json.dumps({"_meta": {"hostvars": {"h1": hv}}, "all": {"children": []}})

    assert not may_hold_secrets(listing({"ansible_host": "10.0.0.1", "ansible_user": "adm",
                                         "ansible_ssh_private_key_file": "/k"}))
    assert may_hold_secrets(listing({"ansible_password": "x"}))
    assert may_hold_secrets(listing({"ansible_become_pass": "x"}))
    assert may_hold_secrets(listing({"api_TOKEN": "x"}))
    assert may_hold_secrets(listing({"db": {"__ansible_vault": "$ANSIBLE_VAULT;1.1"}}))
    assert may_hold_secrets("not json")


def test_a_site_whose_plan_fails_is_left_out_of_the_run(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import esms_baseline.conformance.fleet_run as fr
    from esms_baseline import fleet_check

    a, b = site(tmp_path, "Site A"), site(tmp_path, "Site B")
    seen: list[list[str]] = []

    def plan(profile: Any, inventory: Any = None) -> CheckPlan:
        if profile.site.name == "Site A":
            raise PlanError("host pc-9 is not in inventory hosts.yml")
        return CheckPlan(profile.site.name, ())

    def fake(plans: list[CheckPlan], **kw: Any) -> list[Any]:
        seen.append([p.site_name for p in plans])
        assert kw["forks"] == 5 * 3  # forks x sites_parallel hosts at once
        return [make_result(site="Site B", hosts=("h1",))]

    monkeypatch.setattr(fr, "check_many", fake)
    monkeypatch.setattr("esms_baseline.plan.build_check_plan", plan)
    fleet = fleet_check.check_fleet("check", [a, b], forks=5, sites_parallel=3, record=False)
    assert seen == [["Site B"]]
    assert [s.exit_code for s in fleet.sites] == [3, 1]
    assert "pc-9" in fleet.sites[0].errors[0] and fleet.exit_code == 3
