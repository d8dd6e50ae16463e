"""On fresh lab hosts (never applied), every automated Debian control of the catalogue fails,
except those listed in LEGITIMATELY_NOT_FAILING; and an unreachable host gives
``unreachable`` rows and exit status 3.

A fresh Debian has no generic shared login, no departed user and no empty password to find:
the hosts are given those (on a lab of this module only), as a site that was never managed
would have them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from esms_baseline.catalogue import load_catalogue
from esms_baseline.catalogue.eol import debian_support, verdict_of
from esms_baseline.conformance import CheckPlan, CheckTarget, check
from esms_baseline.lab import Lab, nsenter_run
from esms_baseline.results import Verdict
from tests.conftest import running_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

VARS = json.loads((Path(__file__).resolve().parents[1] / "data" / "facts" / "vars-compliant.json")
                  .read_text(encoding="utf-8"))

#: control -> verdict on a fresh host, where it is not a failure. The lab base has no desktop,
#: no remote-control software, and is bookworm: supported (LTS) until 2028-06-30, a warning
#: in its last 180 days (catalogue/eol.yml).
LEGITIMATELY_NOT_FAILING = {
    "ESMS-LOCK-04": Verdict.NOT_APPLICABLE,
    "ESMS-PRV-02": Verdict.PASS,
    "ESMS-UPD-04": Verdict(verdict_of(debian_support("12"), dt.date.today(),
                                      VARS["esms_updates_eol_warn_days"])[0]),
}

#: What an unmanaged site typically has: a shared login, a departed nurse's account still
#: open, an intern with sudo, a guest account without password.
MESSY = r"""
set -e
useradd -m -s /bin/bash accueil && echo 'accueil:Accueil2024' | chpasswd
useradd -m -s /bin/bash pleroy && echo 'pleroy:Soleil2023!' | chpasswd
useradd -m -s /bin/bash -G sudo stagiaire
useradd -m -s /bin/bash invite && passwd -d invite >/dev/null
"""


@pytest.fixture(scope="module")
def fresh_lab() -> Iterator[Lab]:
    with running_lab("check-fresh", 2, fresh=True) as lab:
        for h in lab.hosts:
            nsenter_run(lab, h.name, ["bash", "-c", MESSY])
        yield lab


def plan_of(lab: Lab) -> CheckPlan:
    return CheckPlan(
        site_name="fresh",
        hosts=tuple(CheckTarget(h.name, "debian", f"ssh://{h.name}", VARS) for h in lab.hosts),
        ssh_config=lab.ssh_config_path,
    )


def test_fresh_hosts_fail_every_automated_debian_control(fresh_lab: Lab) -> None:
    result = check(plan_of(fresh_lab))
    controls = [c.id for c in load_catalogue() if c.implemented_on("debian")]
    for h in fresh_lab.hosts:
        got = {r.control: r for r in result.results if r.host == h.name}
        assert sorted(got) == sorted(controls)
        for cid in controls:
            want = LEGITIMATELY_NOT_FAILING.get(cid, Verdict.FAIL)
            assert got[cid].verdict is want, (h.name, got[cid])
            if want is Verdict.FAIL:
                assert got[cid].found is not None and got[cid].expected, got[cid]
    assert result.exit_code == 1


def test_unreachable_host(fresh_lab: Lab) -> None:
    down, up = fresh_lab.hosts[0].name, fresh_lab.hosts[1].name
    nsenter_run(fresh_lab, down, ["systemctl", "stop", "ssh.socket", "ssh.service"], check=False)
    try:
        result = check(plan_of(fresh_lab))
    finally:
        nsenter_run(fresh_lab, down, ["systemctl", "start", "ssh.service"], check=False)
    rows = [r for r in result.results if r.host == down]
    assert rows and all(r.verdict is Verdict.UNREACHABLE for r in rows), rows[:2]
    assert all(r.message for r in rows)
    assert all(r.verdict is not Verdict.UNREACHABLE for r in result.results if r.host == up)
    assert result.exit_code == 3
