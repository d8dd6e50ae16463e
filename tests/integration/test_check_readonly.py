"""A check never changes a host: the watched trees (/etc, /usr/share/pam-configs,
/var/lib/esms-baseline, /home, /root) are byte-identical, with the same modes, owners and
mtimes, before and after a full check (read from outside the host with nsenter)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from esms_baseline.conformance import CheckPlan, CheckTarget, check
from esms_baseline.lab import Lab
from esms_baseline.results import Verdict
from tests.integration.conftest import digest, host_state

pytestmark = [pytest.mark.lab, pytest.mark.slow]

VARS = json.loads((Path(__file__).resolve().parents[1] / "data" / "facts" / "vars-compliant.json")
                  .read_text(encoding="utf-8"))


def lab_plan(lab: Lab) -> CheckPlan:
    return CheckPlan(
        site_name="lab",
        hosts=tuple(CheckTarget(h.name, "debian", f"ssh://{h.name}", VARS) for h in lab.hosts),
        ssh_config=lab.ssh_config_path,
    )


def test_check_leaves_hosts_byte_identical(lab: Lab) -> None:
    hosts = [h.name for h in lab.hosts]
    before = {h: host_state(lab, h) for h in hosts}
    result = check(lab_plan(lab))
    after = {h: host_state(lab, h) for h in hosts}
    # the check really ran on every host (not a vacuous pass)
    assert {r.host for r in result.results if r.verdict in (Verdict.PASS, Verdict.FAIL)} >= set(
        hosts)
    for h in hosts:
        changed = sorted(p for p in before[h].keys() | after[h].keys()
                         if before[h].get(p) != after[h].get(p))
        assert not changed, f"{h}: the check changed {changed[:10]}"
        assert digest(before[h]) == digest(after[h])
