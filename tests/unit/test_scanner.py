"""The reference-scanner map, the XCCDF tailoring and the agreement rows, without a host.

The datastream tests run when scripts/fetch-scanner.sh has cached ComplianceAsCode's
Debian 12 datastream (scripts/setup.sh does); they are skipped, saying so, otherwise."""

from __future__ import annotations

import copy
import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from esms_baseline.catalogue import load_catalogue
from esms_baseline.catalogue.scanner_map import load_scanner_map, parse_scanner_map
from esms_baseline.errors import CatalogueError, ScannerError
from esms_baseline.plan import build_plan
from esms_baseline.profile import load_profile
from esms_baseline.results import SITE_HOST, CheckResult, ControlResult, Verdict
from esms_baseline.scanner import agreement_rows, disagreements, parse_results
from esms_baseline.scanner.content import datastream_path, load_datastream
from esms_baseline.scanner.tailoring import (
    ROLE_DEFAULTS,
    export_tailoring,
    profile_id,
    scanner_values,
    tailor_host,
    tailoring_xml,
)

ROOT = Path(__file__).resolve().parents[2]
ANSSI = ROOT / "tests" / "data" / "profiles" / "valid" / "anssi-bp28.yml"
MAP_FILE = ROOT / "esms_baseline" / "catalogue" / "scanner_map.yml"
X = "{http://checklists.nist.gov/xccdf/1.2}"
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def _raw_map() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(MAP_FILE.read_text(encoding="utf-8"))
    return raw


# --- the map --------------------------------------------------------------------------------


def test_every_control_is_mapped_or_says_why_not() -> None:
    smap = load_scanner_map()
    ids = set(load_catalogue().ids)
    mapped = {r.control for r in smap.rules}
    assert mapped <= ids and set(smap.unmapped) <= ids
    assert mapped | set(smap.unmapped) == ids, sorted(ids - mapped - set(smap.unmapped))


def test_rules_that_do_not_fully_agree_say_why() -> None:
    for r in load_scanner_map().rules:
        assert r.reads
        assert r.agreement == "full" or (r.note and len(r.note) > 20), r


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m["controls"].__setitem__("ESMS-XXX-99", m["controls"]["ESMS-PWD-01"]),
         "ESMS-XXX-99: no such control"),
        (lambda m: m["controls"]["ESMS-PWD-01"][0].__setitem__("agreement", "mostly"),
         "agreement must be one of"),
        (lambda m: m["controls"]["ESMS-PWD-02"][0].pop("note"), "needs a note"),
        (lambda m: m["controls"]["ESMS-PWD-01"].append(m["controls"]["ESMS-PWD-01"][0]),
         "mapped twice"),
        (lambda m: m["controls"]["ESMS-PWD-01"][0].__setitem__("rule", "Bad Rule\n"),
         "not a short ComplianceAsCode rule id"),
        (lambda m: m["controls"]["ESMS-PWD-01"][0].pop("reads"), "say what the rule reads"),
        (lambda m: m["unmapped"].__setitem__("ESMS-PWD-01", "x"), "both mapped and unmapped"),
        (lambda m: m["controls"]["ESMS-PWD-01"][0].__setitem__("colour", "red"), "unknown field"),
    ],
)
def test_a_wrong_map_is_refused_with_where(change: Any, message: str) -> None:
    raw = copy.deepcopy(_raw_map())
    change(raw)
    with pytest.raises(CatalogueError, match=message):
        parse_scanner_map(raw)


# --- against the real content (when cached) --------------------------------------------------

_DS = datastream_path()
needs_datastream = pytest.mark.skipif(
    not _DS.is_file(), reason=f"{_DS} absent: run scripts/fetch-scanner.sh")


@needs_datastream
def test_every_mapped_rule_and_the_base_profile_exist_in_the_datastream() -> None:
    ds = load_datastream()
    smap = load_scanner_map()
    assert smap.base_profile in ds.profiles
    assert [r for r in smap.rule_ids if r not in ds.rules] == []
    # the map is about ANSSI-BP-028: most rules come from its profiles
    anssi = set().union(*(v for k, v in ds.profiles.items() if k.startswith("anssi_bp28")))
    assert len([r for r in smap.rule_ids if r in anssi]) >= 20


@needs_datastream
def test_every_value_the_tailoring_sets_exists_in_the_datastream() -> None:
    xml = export_tailoring(load_profile(ANSSI), datastream=load_datastream(), now=NOW)
    assert "set-value" in xml


@needs_datastream
def test_a_rule_missing_from_the_datastream_is_refused() -> None:
    from esms_baseline.scanner import tailoring

    ds = load_datastream()
    profiles = [tailor_host("h", {**_anssi_vars(), "esms_excepted_controls": []})]
    bad = profiles[0].__class__(**{**profiles[0].__dict__,
                                   "selected": (*profiles[0].selected, "no_such_rule")})
    with pytest.raises(ScannerError, match="rule no_such_rule"):
        tailoring.check_ids([bad], ds, "anssi_bp28_intermediary")


# --- values and tailoring --------------------------------------------------------------------


def _anssi_vars() -> dict[str, Any]:
    return dict(build_plan(load_profile(ANSSI)).host("lab-01").vars)


def test_role_defaults_used_by_the_tailoring_are_the_roles_own() -> None:
    defaults: dict[str, Any] = {}
    for role in ("esms_passwords", "esms_session_lock"):
        defaults.update(yaml.safe_load(
            (ROOT / "roles" / role / "defaults" / "main.yml").read_text(encoding="utf-8")))
    for name, value in ROLE_DEFAULTS.items():
        assert defaults[name] == value, name


def test_anssi_thresholds_become_the_scanner_variables() -> None:
    values = scanner_values(_anssi_vars())
    assert values["var_password_pam_minlen"] == "15"
    assert values["var_password_pam_minclass"] == "4"
    assert {values[f"var_password_pam_{c}credit"] for c in "ulod"} == {"-1"}
    assert values["var_accounts_passwords_pam_faillock_deny"] == "3"
    assert values["var_accounts_passwords_pam_faillock_unlock_time"] == "900"
    assert values["var_accounts_passwords_pam_faillock_fail_interval"] == "900"
    assert values["var_accounts_maximum_age_root"] == "365"
    assert values["var_accounts_tmout"] == "600"  # seconds: idle_minutes 10
    assert values["var_password_hashing_algorithm"] == "YESCRYPT"


def test_classes_not_required_get_no_credit_and_no_expiry_is_99999() -> None:
    v = {**_anssi_vars(), "esms_passwords_required_classes": ["digit"],
         "esms_passwords_admin_max_age_days": 0}
    values = scanner_values(v)
    assert values["var_password_pam_dcredit"] == "-1"
    assert values["var_password_pam_ucredit"] == "0"
    assert values["var_accounts_maximum_age_root"] == "99999"


def test_a_non_integer_variable_is_refused() -> None:
    with pytest.raises(ScannerError, match="esms_passwords_min_length"):
        scanner_values({**_anssi_vars(), "esms_passwords_min_length": "15; rm -rf /"})


def test_no_lockout_history_or_an_exception_unselects_their_rules() -> None:
    v = {**_anssi_vars(), "esms_passwords_lockout_threshold": 0, "esms_banner_text": " ",
         "esms_passwords_history_size": 0, "esms_excepted_controls": ["ESMS-LOCK-01"]}
    p = tailor_host("lab-01", v)
    assert {"accounts_passwords_pam_faillock_deny", "accounts_password_pam_unix_remember",
            "accounts_tmout", "sshd_enable_warning_banner_net"} <= set(p.unselected)
    assert not set(p.selected) & set(p.unselected)
    full = tailor_host("lab-01", _anssi_vars())
    assert full.unselected == () and "accounts_tmout" in full.selected


def test_tailoring_is_well_formed_xccdf_1_2_with_hostile_names() -> None:
    hostile = 'EHPAD "Les <Tilleuls>" & Cie\n]]>'
    p = tailor_host("pc soins/1;x", _anssi_vars())
    xml = tailoring_xml([p], site_name=hostile,
                        base_profile_id="xccdf_org.ssgproject.content_profile_anssi_bp28_intermediary",
                        now=NOW)
    root = ET.fromstring(xml.encode())
    assert root.tag == X + "Tailoring"
    assert root.get("id", "").startswith("xccdf_") and "_tailoring_" in root.get("id", "")
    children = [c.tag.removeprefix(X) for c in root]
    assert children[:3] == ["benchmark", "version", "Profile"]  # XCCDF 1.2 order
    assert root.find(X + "version").get("time") == "2026-11-30T12:00:00+00:00"  # type: ignore[union-attr]
    prof = root.find(X + "Profile")
    assert prof is not None and prof.get("id") == "xccdf_org.esms-baseline_profile_pc-soins-1-x"
    assert prof.get("extends", "").endswith("anssi_bp28_intermediary")
    assert hostile in (prof.findtext(X + "title") or "")
    tags = [c.tag.removeprefix(X) for c in prof]
    # title, description, then selects, then set-values (the schema's order)
    assert tags[:2] == ["title", "description"]
    assert tags.index("set-value") > max(i for i, t in enumerate(tags) if t == "select")
    sets = {e.get("idref", "").rsplit("_value_", 1)[1]: e.text for e in prof.iter(X + "set-value")}
    assert sets["var_password_pam_minlen"] == "15"


def test_two_hosts_with_the_same_id_are_refused() -> None:
    a, b = tailor_host("pc/1", _anssi_vars()), tailor_host("pc;1", _anssi_vars())
    with pytest.raises(ScannerError, match="same tailored profile id"):
        tailoring_xml([a, b], site_name="s", base_profile_id="x", now=NOW)


def test_export_every_debian_host_of_the_example_site() -> None:
    profile = load_profile(ROOT / "examples" / "site.yml")
    root = ET.fromstring(export_tailoring(profile, now=NOW).encode())
    ids = [p.get("id") for p in root.iter(X + "Profile")]
    debian = [h.name for h in build_plan(profile).hosts if h.platform == "debian"]
    assert ids == [profile_id(h) for h in debian] and ids


# --- results and agreement -------------------------------------------------------------------

_RESULTS = f"""<?xml version="1.0"?>
<Benchmark xmlns="{X[1:-1]}"><TestResult id="xccdf_t_testresult_1">
<rule-result idref="xccdf_org.ssgproject.content_rule_accounts_password_pam_minlen"><result>pass</result></rule-result>
<rule-result idref="xccdf_org.ssgproject.content_rule_accounts_passwords_pam_faillock_deny"><result>fail</result></rule-result>
<rule-result idref="xccdf_org.ssgproject.content_rule_accounts_tmout"><result>notselected</result></rule-result>
</TestResult></Benchmark>"""


def test_parse_results() -> None:
    assert parse_results(_RESULTS) == {"accounts_password_pam_minlen": "pass",
                                       "accounts_passwords_pam_faillock_deny": "fail",
                                       "accounts_tmout": "notselected"}
    with pytest.raises(ScannerError, match="unknown XCCDF result"):
        parse_results(_RESULTS.replace("<result>pass", "<result>ok"))
    with pytest.raises(ScannerError, match="no XCCDF TestResult"):
        parse_results(f'<Benchmark xmlns="{X[1:-1]}"/>')
    with pytest.raises(ScannerError, match="cannot read"):
        parse_results("<not xml")


def test_agreement_rows() -> None:
    now = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    check = CheckResult(
        site="s", started=now, finished=now, baseline_version="x", hosts=("h",),
        results=(ControlResult("h", "ESMS-PWD-01", Verdict.PASS),
                 ControlResult("h", "ESMS-PWD-02", Verdict.PASS),
                 ControlResult("h", "ESMS-LOCK-01", Verdict.EXCEPTED),
                 ControlResult(SITE_HOST, "ESMS-ORG-01", Verdict.PASS)))
    rows = {r.rule: r for r in agreement_rows(check, {"h": parse_results(_RESULTS)})}
    assert rows["accounts_password_pam_minlen"].agrees
    assert not rows["accounts_passwords_pam_faillock_deny"].agrees  # ours pass, theirs fail
    assert rows["accounts_tmout"].agrees  # excepted / notselected
    assert rows["accounts_password_pam_minclass"].scanner == "absent"
    assert rows["accounts_password_set_max_life_root"].ours == "absent"
    bad = {r.rule for r in disagreements(list(rows.values()))}
    assert "accounts_passwords_pam_faillock_deny" in bad
    assert "accounts_password_pam_unix_rounds_password_auth" not in bad  # claimed: none


def test_report_section_escapes_and_counts() -> None:
    from esms_baseline.report.scanner_section import agreement_document, agreement_html
    from esms_baseline.scanner.agreement import AgreementRow

    rows = [
        AgreementRow("<b>h</b>", "ESMS-PWD-01", "accounts_password_pam_minlen", "pass", "pass",
                     "full", True, None),
        AgreementRow("h", "ESMS-PWD-02", "accounts_passwords_pam_faillock_deny", "pass", "fail",
                     "partial", False, "note & <script>"),
        AgreementRow("h", "ESMS-PWD-03", "accounts_password_pam_unix_rounds_password_auth",
                     "pass", "fail", "none", False, "deliberate"),
    ]
    doc = agreement_document(rows)
    assert doc["counts"] == {"agree": 1, "differ": 1, "known": 1}
    assert doc["base_profile"].endswith("anssi_bp28_intermediary")
    page = agreement_html(rows, "fr")
    assert "<b>h</b>" not in page and "&lt;b&gt;h&lt;/b&gt;" in page
    assert "<script>" not in page and "écart connu" in page and "NON" in page
    assert "1 règle(s) concordantes" in page
    assert "known difference" in agreement_html(rows, "en")


def test_cli_export_agreement(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from esms_baseline.cli import main
    from esms_baseline.history import History

    profile = load_profile(ANSSI)
    now = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    check = CheckResult(
        site=profile.site.name, started=now, finished=now, baseline_version="x",
        hosts=("lab-01",),
        results=(ControlResult("lab-01", "ESMS-PWD-01", Verdict.PASS),
                 ControlResult("lab-01", "ESMS-PWD-02", Verdict.PASS)))
    db = tmp_path / "h.sqlite"
    with History(db) as h:
        h.record(check)
    res = tmp_path / "r.xml"
    res.write_text(_RESULTS)
    out = tmp_path / "a.json"
    assert main(["export", "agreement", str(ANSSI), "--oscap", f"lab-01={res}",
                 "--history", str(db), "--format", "json", "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    rows = {r["rule"]: r for r in doc["rows"]}
    assert rows["accounts_password_pam_minlen"]["status"] == "agree"
    assert rows["accounts_passwords_pam_faillock_deny"]["status"] == "differ"
    assert main(["export", "agreement", str(ANSSI), "--oscap", f"lab-02={res}",
                 "--history", str(db)]) == 2
    assert main(["export", "agreement", str(ANSSI), "--oscap", "lab-01",
                 "--history", str(db)]) == 2
    assert "expected HOST=RESULTS.xml" in capsys.readouterr().err
    assert main(["export", "agreement", str(ANSSI), "--oscap", f"lab-01={tmp_path}/none.xml",
                 "--history", str(db)]) == 3
    assert main(["export", "agreement", str(ANSSI), "--oscap", f"lab-01={res}",
                 "--history", str(db)]) == 0
    assert '<section id="scanner">' in capsys.readouterr().out


def test_collector_reads_what_sshd_config_itself_states(monkeypatch: pytest.MonkeyPatch) -> None:
    from esms_baseline.conformance.collectors import debian as collector

    text = ("Include /etc/ssh/sshd_config.d/*.conf\n#PermitRootLogin yes\n"
            "PermitRootLogin no\nClientAliveInterval 300\npermitrootlogin yes\n"
            "Match User backup\n  ClientAliveInterval 0\n  Banner none\n")
    monkeypatch.setattr(collector, "_read", lambda path: text)
    assert collector.sshd_config_main() == {
        "include": "/etc/ssh/sshd_config.d/*.conf", "permitrootlogin": "no",
        "clientaliveinterval": "300"}
