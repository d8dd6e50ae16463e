"""``apply --drifted`` on real lab hosts: check first, then apply only the failing controls.

In order, on a lab of two hosts of its own:
fresh hosts -> ``--drifted`` brings them to the baseline (every control fails, every one applied)
-> compliant hosts: ``--drifted`` runs no Ansible at all
-> controls broken by hand, including ones that share files, services or handlers with others
   (the sshd drop-ins of ESMS-ACC-06 and ESMS-LOCK-02, PAM for ESMS-PWD-01/02, the nftables
   ruleset for ESMS-FW-02 rendered by ESMS-FW-01, the upgrade timer of ESMS-UPD-02/03): the
   check sees exactly them, ``--drifted`` runs their tasks only and repairs them
-> a full apply afterwards changes nothing: the tasks of the controls ``--drifted`` left alone
   had nothing to do (a control whose check passes has no task that would change).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from esms_baseline.cli import main
from esms_baseline.conformance import check
from esms_baseline.converge import DriftedApply, apply_drifted
from esms_baseline.history import History
from esms_baseline.lab import Lab, nsenter_run
from esms_baseline.plan import build_check_plan, build_plan
from esms_baseline.profile import SiteProfile, load_profile
from esms_baseline.results import CheckResult, TaskOutcome, Verdict
from esms_baseline.run import Progress, apply
from tests.conftest import random_secrets_in_env, running_lab

from .test_apply import ALSO_FAILS, BREAKS

pytestmark = [pytest.mark.lab, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
HOSTS = ("lab-01", "lab-02")
#: Broken together on each host; lab-02's and lab-01's sets share sshd (ACC-06 / LOCK-02) and PAM.
BROKEN = {
    "lab-01": ("ESMS-ACC-06", "ESMS-PWD-02", "ESMS-UPD-02", "ESMS-BAN-01", "ESMS-LOCK-03"),
    "lab-02": ("ESMS-LOCK-02", "ESMS-PWD-01", "ESMS-FW-02", "ESMS-ACC-02", "ESMS-UPD-01"),
}
#: Tasks a control's tag also selects (tags of the roles' per-OS task files): the firewall's
#: inputs are checked by FW-02/03, the ruleset is rendered and applied by FW-01.
ALSO_RUNS = {"ESMS-FW-02": {"ESMS-FW-01"}, "ESMS-FW-03": {"ESMS-FW-01"}}


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> SiteProfile:
    """The example profile on two desktops (no backup), ESMS-AV-02 excepted: lab hosts cannot
    reach the ClamAV mirrors, so it would fail (and be re-applied) whatever is done."""
    raw = yaml.safe_load((ROOT / "examples" / "site.yml").read_text(encoding="utf-8"))
    raw["inventory"]["hosts"] = {"lab-01": {"groups": ["bureaux"]}, "lab-02": {"groups": ["postes_soins"]}}
    raw["exceptions"] = [{
        "control": "ESMS-AV-02", "hosts": list(HOSTS), "approved_by": "Test",
        "reason": "Lab hosts have no network: no signature update possible.", "expires": "2099-12-31",
    }]
    path = tmp_path_factory.mktemp("converge") / "site.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_profile(path)


@pytest.fixture(scope="module")
def lab(profile: SiteProfile) -> Iterator[Lab]:
    with random_secrets_in_env(build_plan(profile).secret_env.values()), \
            running_lab("converge", len(HOSTS)) as running:
        yield running


def drifted(lab: Lab, profile: SiteProfile, tmp_path: Path) -> DriftedApply:
    return apply_drifted(profile, inventory=lab.inventory_path, forks=5, artifacts_dir=tmp_path)


def checked(lab: Lab, profile: SiteProfile) -> CheckResult:
    return check(build_check_plan(profile, lab.inventory_path))


def failing(result: CheckResult) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {h: set() for h in HOSTS}
    for r in result.results:
        if r.host in out and r.verdict in (Verdict.FAIL, Verdict.ERROR):
            out[r.host].add(r.control)
    return out


def test_drifted_brings_fresh_hosts_to_the_baseline(lab: Lab, profile: SiteProfile, tmp_path: Path) -> None:
    done = drifted(lab, profile, tmp_path)
    assert done.result.exit_code == 0, [(h.host, h.errors) for h in done.result.hosts]
    assert set(done.targets) == set(HOSTS)
    assert all(len(done.targets[h]) > 10 for h in HOSTS), done.targets
    assert failing(checked(lab, profile)) == {h: set() for h in HOSTS}


def test_drifted_on_compliant_hosts_runs_no_ansible(lab: Lab, profile: SiteProfile, tmp_path: Path) -> None:
    done = drifted(lab, profile, tmp_path)
    assert done.targets == {}
    assert done.runs == ()
    assert done.result.exit_code == 0
    assert [(h.host, h.ok, h.changed) for h in done.result.hosts] == [(h, 0, 0) for h in HOSTS]
    # the CLI records its check as `check` does and its apply as `apply` does: drift and
    # report see them (one more check: the hosts are compliant, no Ansible runs)
    db = tmp_path / "history.sqlite"
    assert main(["apply", "--drifted", str(profile.path), "-i", str(lab.inventory_path), "-q",
                 "--history", str(db)]) == 0
    with History(db) as h:
        (run,) = h.runs(profile.site.name)
        assert run.hosts == HOSTS and run.exit_code == 0 and run.counts.get("pass", 0) > 20
        ap = h.latest_apply(profile.site.name)
        assert ap is not None and ap.exit_code == 0 and ap.payload["mode"] == "apply --drifted"
        assert ap.payload["manual_actions"] == [] and ap.payload["hosts"] == list(HOSTS)
    out = tmp_path / "report.json"
    assert main(["report", "--site", profile.site.name, "--history", str(db), "--format", "json",
                 "-o", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["run_id"] == run.run_id and doc["last_apply"]["apply_id"] == ap.apply_id


def test_drifted_repairs_exactly_the_broken_controls(lab: Lab, profile: SiteProfile, tmp_path: Path) -> None:
    user = next(u.login for u in profile.accounts.users if u.state == "present")
    for host, cids in BROKEN.items():
        for cid in cids:
            nsenter_run(lab, host, ["bash", "-c", BREAKS[cid].format(user=user, departed="nobody")])
    expected = {h: set(c) | {a for x in c for a in ALSO_FAILS.get(x, ())} for h, c in BROKEN.items()}
    assert failing(checked(lab, profile)) == expected

    done = drifted(lab, profile, tmp_path)
    assert done.result.exit_code == 0, [(h.host, h.errors) for h in done.result.hosts]
    assert done.targets == expected
    for h in done.result.hosts:
        allowed = expected[h.host] | {a for c in expected[h.host] for a in ALSO_RUNS.get(c, ())}
        ran = {cid for cid, o in h.controls.items() if o is not TaskOutcome.SKIPPED}
        assert ran <= allowed, (h.host, sorted(ran - allowed))  # nothing else was even run
        changed = {cid for cid, o in h.controls.items() if o is TaskOutcome.CHANGED}
        for cid in BROKEN[h.host]:  # repaired by its own tasks or those its tag selects
            assert cid in changed or ALSO_RUNS.get(cid, set()) & changed, (h.host, cid, sorted(changed))
    assert failing(checked(lab, profile)) == {h: set() for h in HOSTS}


def test_full_apply_after_drifted_changes_nothing(lab: Lab, profile: SiteProfile, tmp_path: Path) -> None:
    changed: list[tuple[str, str]] = []

    def seen(p: Progress) -> None:
        if p.outcome is TaskOutcome.CHANGED:
            changed.append((p.host, p.task))

    result = apply(build_plan(profile, inventory=lab.inventory_path), forks=5, artifacts_dir=tmp_path,
                   progress=seen)
    assert result.exit_code == 0, [(h.host, h.errors) for h in result.hosts]
    assert changed == []
    assert {h.host: h.changed for h in result.hosts} == {h: 0 for h in HOSTS}
