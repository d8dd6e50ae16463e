"""The history's scanner agreements and applies (schema v3), and the report's sections on
them: "Concordance avec le scanner de référence" and "Actions manuelles requises" (#11)."""

from __future__ import annotations

import datetime as _dt
import json
import sqlite3
from html import unescape
from pathlib import Path

import pytest

from esms_baseline.history import MIGRATIONS, History, migrate
from esms_baseline.report import render
from esms_baseline.scanner import agreement_rows
from esms_baseline.scanner.record import rows_of, scan_payload, scanner_versions
from tests.unit.test_report import DEFAULT_FAILS, make_result, validator

SITE = "EHPAD Les Tilleuls"
T = _dt.datetime(2026, 3, 14, 3, 0, tzinfo=_dt.UTC)
RESULTS_XML = """<?xml version="1.0"?>
<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="b"><version>0.1.76</version>
<TestResult id="t" test-system="cpe:/a:redhat:openscap:1.3.7">
<rule-result idref="xccdf_org.ssgproject.content_rule_accounts_password_pam_minlen">
<result>pass</result></rule-result>
<rule-result idref="xccdf_org.ssgproject.content_rule_accounts_tmout"><result>fail</result>
</rule-result></TestResult></Benchmark>"""


def _recorded(tmp_path: Path) -> tuple[History, int, dict[str, object]]:
    h = History(tmp_path / "h.sqlite")
    check = make_result(fail=DEFAULT_FAILS)
    run_id = h.record(check)
    check = h.get(run_id)
    host = check.hosts[0]
    scans = {host: {"accounts_password_pam_minlen": "pass", "accounts_tmout": "fail"}}
    payload = scan_payload(agreement_rows(check, scans), check_run_id=run_id,
                           check_started=check.started.isoformat(),
                           versions={host: scanner_versions(RESULTS_XML)})
    h.record_scan(SITE, run_id, payload, recorded=T)
    return h, run_id, payload


def test_scanner_versions_from_results() -> None:
    assert scanner_versions(RESULTS_XML) == ("OpenSCAP 1.3.7", "0.1.76")
    assert scanner_versions("<not xml") == ("", "")


def test_scan_and_apply_round_trip(tmp_path: Path) -> None:
    h, run_id, payload = _recorded(tmp_path)
    with h:
        scan = h.latest_scan(SITE)
        assert scan is not None and scan.check_run_id == run_id and scan.recorded == T
        assert scan.payload == payload and scan.payload["scanner"] == "OpenSCAP 1.3.7"
        assert rows_of(scan.payload) == agreement_rows(
            h.get(run_id), {make_result().hosts[0]: {"accounts_password_pam_minlen": "pass",
                                                       "accounts_tmout": "fail"}})
        assert h.latest_scan("Nowhere") is None and h.latest_apply(SITE) is None
        actions = [{"host": "srv", "control": "ESMS-ACC-04", "reason": "UID 0 <b>intrus</b>"}]
        h.record_apply(SITE, T, T, "successful", 5, {"manual_actions": actions})
        ap = h.latest_apply(SITE)
        assert ap is not None and ap.exit_code == 5 and ap.payload["manual_actions"] == actions


def test_v2_history_migrates_to_v3(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    conn = sqlite3.connect(db, isolation_level=None)
    migrate(conn, target=2)
    conn.close()
    with History(db) as h:
        assert h.schema_version == len(MIGRATIONS) == 3
        assert h.latest_scan(SITE) is None


def test_report_shows_the_recorded_agreement_and_manual_actions(tmp_path: Path) -> None:
    h, run_id, payload = _recorded(tmp_path)
    h.record_apply(SITE, T, T, "successful", 5, {"manual_actions": [
        {"host": "srv", "control": "ESMS-ACC-04", "reason": "UID 0 <b>intrus</b>"},
        {"host": "srv", "control": "ESMS-ACC-05", "reason": "the management account esms-admin "
         "has an empty password: set one or lock it by hand"}]})
    check = h.get(run_id)
    recorded = (h.latest_scan(SITE), h.latest_apply(SITE))
    html = render(check, "html", lang="fr", recorded=recorded)
    counts = payload["counts"]
    assert isinstance(counts, dict)
    assert "Concordance avec le scanner de référence (OpenSCAP, ANSSI-BP-028)" in html
    assert (f"{counts['agree']} règle(s) concordantes, {counts['differ']} écart(s) "
            f"inattendu(s), {counts['known']} écart(s) connu(s)") in html
    assert f"(OpenSCAP 1.3.7, contenu 0.1.76), comparé à la vérification n° {run_id} du" in html
    assert "Actions manuelles requises" in html and "UID 0 &lt;b&gt;intrus&lt;/b&gt;" in html
    assert "mot de passe vide : définissez-en un" in html  # the roles' texts, in French
    en = render(check, "html", lang="en", recorded=recorded)
    assert "Agreement with the reference scanner" in en and f"check no. {run_id}" in en
    md = render(check, "md", lang="fr", recorded=recorded)
    assert "## Concordance avec le scanner de référence" in md and "ESMS-ACC-04" in md
    doc = json.loads(render(check, "json", lang="fr", recorded=recorded))
    assert not list(validator().iter_errors(doc))
    assert doc["scanner"]["check_run_id"] == run_id and doc["scanner"]["counts"] == counts
    assert doc["last_apply"]["manual_actions"][0]["control"] == "ESMS-ACC-04"
    h.close()


def test_report_says_plainly_when_nothing_is_recorded(tmp_path: Path) -> None:
    check = make_result()
    html = unescape(render(check, "html", lang="fr", recorded=(None, None)))
    assert "Aucun passage du scanner de référence (OpenSCAP) n'est enregistré" in html
    assert "Aucune application n'est enregistrée" in html
    doc = json.loads(render(check, "json", lang="fr", recorded=(None, None)))
    assert doc["scanner"] is None and doc["last_apply"] is None
    assert not list(validator().iter_errors(doc))
    # not looked up (a report built without the history): no section, no claim
    assert 'id="scanner"' not in render(check, "html", lang="fr")


def test_cli_report_reads_the_recorded_agreement(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from esms_baseline.cli import main

    h, run_id, _ = _recorded(tmp_path)
    h.close()
    out = tmp_path / "r.html"
    assert main(["report", "--site", SITE, "--history", str(tmp_path / "h.sqlite"),
                 "-o", str(out)]) == 0
    text = unescape(out.read_text(encoding="utf-8"))
    assert f"comparé à la vérification n° {run_id}" in text
    assert "Aucune application n'est enregistrée" in text


def test_remote_command_runs_oscap_with_quoted_arguments(tmp_path: Path) -> None:
    """The command `scan` sends over ssh, run here by sh with a stand-in oscap on PATH: the
    tailoring arrives on standard input, a hostile datastream path stays one argument, the
    results XML is the only standard output, the temporary folder is removed."""
    import os
    import subprocess

    from esms_baseline.scanner.remote import remote_command

    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "argv.txt"
    (bindir / "oscap").write_text(
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + str(log) + "\n"
        "while [ $# -gt 0 ]; do case $1 in --results) r=$2;; --tailoring-file) t=$2;; esac; "
        "shift; done\ncp \"$t\" \"$r\"; echo noise; exit 2\n")
    (bindir / "oscap").chmod(0o755)
    ds = tmp_path / "ds'; touch pwned; echo $(id).xml"
    ds.write_text("x")
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "TMPDIR": str(tmp_path)}
    proc = subprocess.run(["sh", "-c", remote_command("lab-01", str(ds), ["accounts_tmout"])],
                          input="<Tailoring/>", capture_output=True, text=True, env=env,
                          cwd=tmp_path, check=False)
    assert proc.returncode == 2 and proc.stdout == "<Tailoring/>", proc.stderr
    argv = log.read_text().splitlines()
    assert argv[-1] == str(ds) and "xccdf_org.esms-baseline_profile_lab-01" in argv
    assert "xccdf_org.ssgproject.content_rule_accounts_tmout" in argv
    assert not (tmp_path / "pwned").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("tmp.")] == []
    missing = subprocess.run(["sh", "-c", remote_command("h", "/nonexistent.xml", [])],
                             input="", capture_output=True, text=True, env=env, check=False)
    assert missing.returncode == 99 and "no datastream /nonexistent.xml" in missing.stderr


def test_cli_scan_needs_a_recorded_check(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from esms_baseline.cli import main

    profile = Path(__file__).resolve().parents[1] / "data" / "profiles" / "valid" / "anssi-bp28.yml"
    assert main(["scan", str(profile), "--history", str(tmp_path / "h.sqlite")]) == 2
    assert "run `esms-baseline check` first" in capsys.readouterr().err
