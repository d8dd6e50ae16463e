"""Our check agrees with the reference scanner an auditor runs: OpenSCAP with
ComplianceAsCode's ANSSI-BP-028 content for Debian 12, on a real lab host.

One host, ANSSI's own password thresholds (tests/data/profiles/valid/anssi-bp28.yml: 15
characters of 4 classes, lockout after 3 failures for 900 s). OpenSCAP and its content are
installed offline from the project's cache (scripts/fetch-scanner.sh); the tailoring comes
from `esms-baseline export tailoring`'s library function. After an apply, every rule the
map (catalogue/scanner_map.yml) says agrees passes in both; after manual breaks of five
mapped controls, the broken rules fail in both.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from esms_baseline.catalogue.scanner_map import load_scanner_map
from esms_baseline.cli.scan_cmd import compare_and_record
from esms_baseline.conformance import check
from esms_baseline.history import History
from esms_baseline.lab import Lab, nsenter_run
from esms_baseline.plan import build_check_plan, build_plan
from esms_baseline.profile import load_profile
from esms_baseline.report import render
from esms_baseline.results import CheckResult
from esms_baseline.run import apply
from esms_baseline.scanner import agreement_rows, disagreements, export_tailoring, profile_id
from esms_baseline.scanner.content import datastream_path, load_datastream
from esms_baseline.scanner.lab import HOST_WORK_DIR, install_scanner, run_oscap
from esms_baseline.scanner.remote import scan_hosts
from tests.conftest import random_secrets_in_env, running_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

PROFILE = Path(__file__).resolve().parents[1] / "data" / "profiles" / "valid" / "anssi-bp28.yml"
HOST = "lab-01"
SMAP = load_scanner_map()
#: Applied and checked: the controls with a rule claimed to agree, and ESMS-ACC-01 (ESMS-ACC-04
#: also wants the declared admin it creates to have sudo). Fewer tasks, a shorter test.
CONTROLS = sorted({r.control for r in SMAP.rules if r.must_agree} | {"ESMS-ACC-01"})
#: What the scanner reads of each control, broken by hand: (shell command, rules that must
#: then fail in the scanner, control that must then fail in our check).
BREAKS = [
    ("sed -i '/^minlen/d' /etc/security/pwquality.conf",
     ["accounts_password_pam_minlen"], "ESMS-PWD-01"),
    # a weaker value stated above ours: libpwquality keeps ours (the last), the scanner
    # judges every stated value, and so does our check
    ("sed -i '1i minclass = 1' /etc/security/pwquality.conf",
     ["accounts_password_pam_minclass"], "ESMS-PWD-01"),
    ("sed -i 's/^deny = .*/deny = 10/' /etc/security/faillock.conf",
     ["accounts_passwords_pam_faillock_deny"], "ESMS-PWD-02"),
    ("chage -M 99999 root", ["accounts_password_set_max_life_root"], "ESMS-PWD-04"),
    ("rm /etc/profile.d/esms-tmout.sh", ["accounts_tmout"], "ESMS-LOCK-01"),
    ("sed -i '/^PermitRootLogin/d' /etc/ssh/sshd_config", ["sshd_disable_root_login"],
     "ESMS-ACC-06"),
]


@pytest.fixture(scope="module")
def scanner_lab() -> Iterator[Lab]:
    if not datastream_path().is_file():
        pytest.fail(f"{datastream_path()} absent: scripts/setup.sh runs scripts/fetch-scanner.sh")
    with running_lab("scanner", 1) as lab:
        yield lab


def _scan(lab: Lab, tailoring: str) -> dict[str, str]:
    result = run_oscap(lab, HOST, profile_id(HOST), tailoring, rules=list(SMAP.rule_ids))
    return result.rules


def _check(lab: Lab) -> CheckResult:
    plan = build_check_plan(load_profile(PROFILE), lab.inventory_path, HOST)
    return check(plan, controls=CONTROLS)


def test_scanner_and_check_agree_after_apply_and_after_breaks(
    scanner_lab: Lab, tmp_path: Path
) -> None:
    lab = scanner_lab
    assert "openscap-scanner" in install_scanner(lab, HOST)
    profile = load_profile(PROFILE)
    tailoring = export_tailoring(profile, host=HOST, inventory=lab.inventory_path,
                                 datastream=load_datastream())
    # the scanner's own XCCDF 1.2 schema validation of the generated tailoring
    (lab.host(HOST).root / HOST_WORK_DIR.lstrip("/") / "t.xml").write_text(tailoring)
    nsenter_run(lab, HOST, ["oscap", "xccdf", "validate", "--skip-schematron",
                            f"{HOST_WORK_DIR}/t.xml"])


    plan = build_plan(profile, inventory=lab.inventory_path, limit=HOST)
    with random_secrets_in_env(plan.secret_env.values()):
        result = apply(plan, controls=CONTROLS, artifacts_dir=tmp_path)
    assert result.exit_code == 0, [h.errors for h in result.hosts]

    # the real path of `esms-baseline scan`: oscap over SSH (host key verified), the
    # agreement recorded in the history against the recorded check, shown by `report`
    history = History(tmp_path / "history.sqlite")
    check_id = history.record(_check(lab))
    ours = history.get(check_id)
    [scan] = scan_hosts(profile, inventory=lab.inventory_path, limit=HOST,
                        datastream=load_datastream())
    assert scan.error == "", scan.error
    scanned = scan.rules
    assert set(SMAP.rule_ids) <= set(scanned)
    payload = compare_and_record(history, ours, {HOST: scanned},
                                 {HOST: (scan.scanner, scan.content)})
    assert payload["scanner"].startswith("OpenSCAP 1.3") and payload["content_version"]
    assert payload["check_run_id"] == check_id
    rows = agreement_rows(ours, {HOST: scanned})
    assert disagreements(rows) == []
    must = [r for r in rows if r.expected_to_agree]
    assert len(must) >= 20
    # every rule claimed to agree passes in both
    assert [r for r in must if (r.ours, r.scanner) != ("pass", "pass")] == []
    site = profile.site.name
    html = render(ours, "html", lang="fr",
                  recorded=(history.latest_scan(site), history.latest_apply(site)))
    known = len(rows) - len(must)
    assert "Concordance avec le scanner de référence" in html
    assert (f"{len(must)} règle(s) concordantes, 0 écart(s) inattendu(s), {known} écart(s) "
            "connu(s)") in html
    assert f"comparé à la vérification n° {check_id} du" in html
    history.close()

    for command, _rules, _control in BREAKS:
        nsenter_run(lab, HOST, ["sh", "-c", command])
    broken = _check(lab)
    scanned = _scan(lab, tailoring)
    verdicts = {r.control: r.verdict.value for r in broken.results if r.host == HOST}
    for command, rules, control in BREAKS:
        assert verdicts[control] == "fail", (command, verdicts[control])
        for rule in rules:
            assert scanned[rule] == "fail", (command, rule, scanned[rule])
