"""What a remote check job carries (esms_baseline.remote_check.build_check_job) and how the
worker's answer is read; the real run through a worker is test_check_through_worker in
tests/integration/test_profile_inventory_lab.py."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from esms_baseline.conformance.collectors import remote_argv
from esms_baseline.plan import build_plan
from esms_baseline.profile import load_profile
from esms_baseline.remote_check import _parse_facts, build_check_job
from tests.conftest import random_secrets_in_env

ROOT = Path(__file__).resolve().parents[2]


def test_check_job_holds_no_secret_and_only_the_collection(tmp_path: Path) -> None:
    plan = build_plan(load_profile(ROOT / "examples" / "site.yml"))
    conn = tmp_path / "worker-inventory.yml"
    conn.write_text("all:\n  hosts:\n    lab-01: {ansible_host: 192.0.2.1}\n")
    private = tmp_path / "job"
    private.mkdir()
    with random_secrets_in_env(plan.secret_env.values()) as values:
        build_check_job(private, ["lab-01", "lab-02"], "debian", connection_inventory=conn,
                        known_hosts="lab-01 ssh-ed25519 AAAA\n")
    files = sorted(str(p.relative_to(private)) for p in private.rglob("*") if p.is_file())
    assert files == ["inventory/00-connection.yml", "inventory/10-check.yml",
                     "project/collect-vars.yml", "project/collect.yml", "project/known_hosts"]
    text = "".join(p.read_text() for p in private.rglob("*") if p.is_file())
    assert values and not any(v in text for v in values.values())
    # exactly the checked hosts, in a group of their own
    inv = yaml.safe_load((private / "inventory" / "10-check.yml").read_text())
    assert inv == {"all": {"children": {"esms_check_hosts": {"hosts": {"lab-01": {},
                                                                       "lab-02": {}}}}}}
    # the collector command of a local check, as one shell string; host keys enforced first
    v = yaml.safe_load((private / "project" / "collect-vars.yml").read_text())
    import shlex

    assert shlex.split(v["esms_collect_command"]) == remote_argv("debian")
    assert v["ansible_ssh_args"].startswith("-o StrictHostKeyChecking=yes -o UserKnownHostsFile=")
    assert "HostKeyAlias={{ inventory_hostname }}" in v["ansible_ssh_args"]
    play = yaml.safe_load((private / "project" / "collect.yml").read_text())[0]
    assert play["hosts"] == "esms_check_hosts" and play["become"] is True
    assert [next(k for k in t if "." in k) for t in play["tasks"]] == ["ansible.builtin.raw"]


def test_collector_command_string_runs_the_collector() -> None:
    """The shell string the job sends is the local check's argv, unchanged by the shell."""
    import shlex

    argv = remote_argv("debian")
    cmd = " ".join(shlex.quote(a) for a in argv)
    out = subprocess.run(["sh", "-c", f"printf '%s\\0' {cmd}"], capture_output=True,
                         check=True).stdout.decode().split("\0")[:-1]
    assert out == argv


def test_facts_parsing() -> None:
    assert _parse_facts("h", "debian", 'noise\n{"platform": "debian", "x": 1}\n') == {
        "platform": "debian", "x": 1}
    with pytest.raises(ValueError):
        _parse_facts("h", "debian", json.dumps({"platform": "windows"}))
    with pytest.raises(ValueError):
        _parse_facts("h", "debian", "sudo: a password is required")


def test_check_from_collected_facts_one_host_unreachable_others_go_on(tmp_path: Path) -> None:
    """The real conformance suite (pytest subprocess, plugin, rules) on facts collected
    elsewhere: the hosts' URLs lead nowhere, so nothing here connects to any host; a host
    the worker could not reach is unreachable, one whose collector failed is error, and the
    host with facts gets the same verdicts as the rules give its facts."""
    import datetime as dt

    from esms_baseline.conformance import CheckPlan, CheckTarget, check
    from esms_baseline.conformance.rules import evaluate
    from esms_baseline.remote_check import WorkerFacts

    data = ROOT / "tests" / "data" / "facts"
    variables = json.loads((data / "vars-compliant.json").read_text(encoding="utf-8"))
    facts = json.loads((data / "debian-compliant.json").read_text(encoding="utf-8"))
    nowhere = "ssh://nowhere.invalid"
    plan = CheckPlan(site_name="Site", today=dt.date(2026, 11, 23), hosts=(
        CheckTarget("a", "debian", nowhere, variables),
        CheckTarget("b", "debian", nowhere, variables),
        CheckTarget("c", "debian", nowhere, variables)))
    got = WorkerFacts(facts={"a": facts}, unreachable={"b": "b: Connection timed out"},
                      errors={"c": "c: collector exited 1: sudo: a password is required"})
    f = tmp_path / "facts.json"
    f.write_text(json.dumps(got.to_dict()), encoding="utf-8")
    res = check(plan, controls=["ESMS-PWD-01", "ESMS-ACC-06"], facts_file=f)
    v = {(r.host, r.control): r for r in res.results}
    for cid in ("ESMS-PWD-01", "ESMS-ACC-06"):
        want = evaluate("debian", cid, facts, variables).passed
        assert v[("a", cid)].verdict.value == ("pass" if want else "fail")
        assert v[("b", cid)].verdict.value == "unreachable"
        assert "timed out" in v[("b", cid)].message
        assert v[("c", cid)].verdict.value == "error" and "sudo" in v[("c", cid)].message
    assert res.exit_code == 3
