"""A fleet on real lab hosts: two sites of one host each and a bad profile, checked at once
(``esms-baseline check sites/``: ONE conformance run for both sites), each recorded under its
own name, one summary, the exit status aggregated; then ``report --fleet`` from that history;
then one site's host made unreachable: that site is incomplete (3), the other is still
checked and recorded."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from esms_baseline.history import History
from esms_baseline.lab import Lab, nsenter_run
from tests.conftest import running_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

PROFILE = """\
schema_version: 1
site: {{name: {name}, finess: "690009999"}}
inventory:
  hosts:
    {host}: {{}}
accounts:
  management_account: esms-admin
firewall:
  management:
    sources: [127.0.0.1/32]
"""


@pytest.fixture(scope="module")
def two_hosts() -> Iterator[Lab]:
    with running_lab("h7fleet", 2) as lab:
        yield lab


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "esms_baseline.cli", *args],
                          capture_output=True, text=True, timeout=900, check=False)


def test_fleet_check_and_report(two_hosts: Lab, tmp_path: Path) -> None:
    sites = tmp_path / "sites"
    sites.mkdir()
    (sites / "a.yml").write_text(PROFILE.format(name="EHPAD Alpha", host="lab-01"))
    (sites / "b.yml").write_text(PROFILE.format(name="MAS Bêta", host="lab-02"))
    (sites / "c.yml").write_text(PROFILE.format(name="FAM Gamma", host="lab-01")
                                 .replace("690009999", "69000999"))
    db = tmp_path / "h.sqlite"
    proc = cli("check", str(sites), "-i", str(two_hosts.inventory_path), "--sites-parallel", "2",
               "--history", str(db), "--json")
    doc = json.loads(proc.stdout)
    by = {s["profile"].rsplit("/", 1)[1]: s for s in doc["sites"]}
    # never applied: the baseline fails on both hosts, but they were checked and recorded
    assert by["a.yml"]["site"] == "EHPAD Alpha" and by["a.yml"]["hosts"] == 1
    assert by["a.yml"]["failed"] > 0 and by["a.yml"]["unreachable"] == 0
    assert by["a.yml"]["exit_code"] == 1 and by["b.yml"]["exit_code"] == 1
    assert by["a.yml"]["new_drift"] == by["a.yml"]["failed"]  # first run: all new
    assert by["c.yml"]["exit_code"] == 2 and "c.yml:2:" in by["c.yml"]["errors"][0]
    assert doc["exit_code"] == proc.returncode == 2
    with History(db) as h:
        assert sorted(h.sites()) == ["EHPAD Alpha", "MAS Bêta"]
        alpha, beta = h.latest("EHPAD Alpha"), h.latest("MAS Bêta")
        assert alpha is not None and beta is not None
        # one conformance run (one pytest process) checked both sites' hosts
        run = alpha.details["conformance_run"]
        assert run == beta.details["conformance_run"] and run["sites"] == 2 and run["hosts"] == 2
        assert alpha.hosts == ("lab-01",) and beta.hosts == ("lab-02",)
        assert {r.host for r in alpha.results} == {"lab-01", "(site)"}
    # drift: same state again, nothing new; exit = highest of the sites (the bad profile: 2)
    (sites / "c.yml").unlink()
    drift = cli("drift", str(sites), "-i", str(two_hosts.inventory_path), "--history", str(db))
    assert drift.returncode == 1, drift.stdout + drift.stderr
    assert "nouvelle dérive" in drift.stdout and "EHPAD Alpha" in drift.stdout
    # a real fleet apply (one control, both sites at once), then the fleet check passes
    apply = cli("apply", str(sites), "-i", str(two_hosts.inventory_path), "--controls",
                "ESMS-LOCK-01", "--sites-parallel", "2", "--history", str(db))
    assert apply.returncode == 0, apply.stdout + apply.stderr
    assert "EHPAD Alpha" in apply.stdout and "MAS Bêta" in apply.stdout
    with History(db) as h:  # each site's apply recorded, as a single-site apply is (report)
        for name, host in (("EHPAD Alpha", "lab-01"), ("MAS Bêta", "lab-02")):
            rec = h.latest_apply(name)
            assert rec is not None and rec.exit_code == 0, name
            assert rec.payload["hosts"] == [host] and rec.payload["manual_actions"] == []
    ok = cli("check", str(sites), "-i", str(two_hosts.inventory_path), "--controls",
             "ESMS-LOCK-01", "--history", str(db), "--json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert [s["failed"] for s in json.loads(ok.stdout)["sites"]] == [0, 0]
    out = tmp_path / "parc"
    rep = cli("report", "--fleet", str(sites), "--history", str(db), "-o", str(out))
    assert rep.returncode == 0, rep.stderr
    index = (out / "index.html").read_text()
    assert 'href="ehpad-alpha.html"' in index and 'href="mas-b-ta.html"' in index
    assert (out / "mas-b-ta.html").read_text().count("lab-02") > 0
    fleet = json.loads((out / "fleet.json").read_text())
    assert [len(s["trend"]) for s in fleet["sites"]] == [3, 3]
    # one site's host goes down: that site is incomplete, the other still checked and recorded
    nsenter_run(two_hosts, "lab-02", ["systemctl", "stop", "ssh.socket", "ssh.service"],
                check=False)
    down = cli("check", str(sites), "-i", str(two_hosts.inventory_path), "--controls",
               "ESMS-LOCK-01", "--history", str(db), "--json")
    assert down.returncode == 3, down.stdout + down.stderr
    by = {s["site"]: s for s in json.loads(down.stdout)["sites"]}
    assert by["MAS Bêta"]["exit_code"] == 3 and by["MAS Bêta"]["unreachable"] == 1
    assert by["EHPAD Alpha"]["exit_code"] == 0 and by["EHPAD Alpha"]["passed"] == 1
    with History(db) as h:
        assert [len(h.runs(s)) for s in ("EHPAD Alpha", "MAS Bêta")] == [4, 4]
        latest = h.latest("EHPAD Alpha")
        assert latest is not None and latest.results[0].verdict.value == "pass"
