"""Reports: the model (socle points, exceptions, evidence), HTML, Markdown, JUnit, JSON."""

from __future__ import annotations

import datetime as _dt
import html
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from esms_baseline.catalogue import SOCLE, load_catalogue
from esms_baseline.history import History
from esms_baseline.report import FORMATS, ReportError, build, render
from esms_baseline.report.summary import PointStatus, months_between, parse_exception
from esms_baseline.results import SITE_HOST, CheckResult, ControlResult, Verdict

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schemas" / "check-report.schema.json"
HOSTS = ("poste-soins-1", "poste-soins-2", "accueil-1", "srv-dui")
EXCEPTION_REASON = ("compte partagé de l'infirmerie de nuit, en attente des badges "
                    "(approuvée par Mme Durand, directrice, expire le 2026-12-31)")


def make_result(
    *,
    when: _dt.datetime | None = None,
    fail: Mapping[tuple[str, str], tuple[object, object]] | None = None,
    site: str = "EHPAD Les Tilleuls",
    hosts: tuple[str, ...] = HOSTS,
    extra: tuple[ControlResult, ...] = (),
) -> CheckResult:
    """A realistic check of every implemented Debian control on ``hosts`` plus the site's
    evidence; ``fail`` maps (host, control) to (found, expected) of a failing row. The
    backup controls (socle point 3) are left out, as by a run limited with --controls: the
    report must then say the point was not evaluated, never that it conforms."""
    when = when or _dt.datetime(2026, 3, 14, 2, 30, tzinfo=_dt.UTC)
    fail = {} if fail is None else fail
    rows: list[ControlResult] = []
    for h in hosts:
        for c in load_catalogue().for_platform("debian"):
            if c.socle == 3:
                continue
            if (h, c.id) in fail:
                found, expected = fail[(h, c.id)]
                rows.append(ControlResult(h, c.id, Verdict.FAIL, found, expected,
                                          f"{c.id} does not match"))
            elif h == "poste-soins-1" and c.id == "ESMS-ACC-02":
                rows.append(ControlResult(h, c.id, Verdict.EXCEPTED, message=EXCEPTION_REASON))
            else:
                rows.append(ControlResult(h, c.id, Verdict.PASS, "ok", "ok", ""))
    rows += [
        ControlResult(SITE_HOST, "ESMS-ORG-01", Verdict.PASS, "2025-11-02 (PCA-mode-degrade-v3)",
                      "declared, dated less than 12 months ago", "evidence present and fresh"),
        ControlResult(SITE_HOST, "ESMS-ORG-02", Verdict.FAIL, "2024-09-14 (session CNIL/ANSSI)",
                      "declared, dated less than 12 months ago",
                      "older than 12 months (expired 2025-09-14)"),
        ControlResult(SITE_HOST, "ESMS-ORG-03", Verdict.FAIL, "not declared",
                      "declared with its date",
                      "à renseigner / to be filled in: no date in the profile"),
    ]
    rows += list(extra)
    return CheckResult(site=site, started=when, finished=when + _dt.timedelta(seconds=42),
                       results=tuple(rows), baseline_version="0.1.0", hosts=hosts)


DEFAULT_FAILS: dict[tuple[str, str], tuple[object, object]] = {
    ("poste-soins-2", "ESMS-LOCK-01"): ({"TMOUT": None}, {"TMOUT": 900, "readonly": True}),
    ("accueil-1", "ESMS-PWD-01"): ({"minlen": 8, "minclass": 2}, {"minlen": 12, "minclass": 4}),
}


def sample() -> CheckResult:
    return make_result(fail=DEFAULT_FAILS)


def excepted_only() -> CheckResult:
    """Point 5 has an exception and no failure; everything else passes or is to fill."""
    return make_result(fail={})


def record_runs(path: Path, n: int = 4) -> History:
    h = History(path)
    base = _dt.datetime(2026, 2, 14, 2, 30, tzinfo=_dt.UTC)
    for i in range(n):
        fails: dict[tuple[str, str], tuple[object, object]] = dict(DEFAULT_FAILS)
        if i < n - 1:
            fails[("srv-dui", "ESMS-FW-02")] = (["22/tcp", "3389/tcp"], ["22/tcp"])
        h.record(make_result(when=base + _dt.timedelta(days=7 * i), fail=fails))
    return h


# --- model --------------------------------------------------------------------------------

def test_points_statuses_and_hosts_concerned() -> None:
    model = build(sample())
    by = {p.point: p for p in model.points}
    assert len(model.points) == len(SOCLE) == 8
    assert by[1].status is PointStatus.COMPLIANT and len(by[1].hosts_concerned) == 4
    assert by[3].status is PointStatus.NOT_EVALUATED  # backups: no row in this run
    assert {c.id for c in by[3].not_checked} == {"ESMS-BAK-01", "ESMS-BAK-02"}
    assert by[4].status is PointStatus.NON_COMPLIANT
    assert by[4].hosts_concerned == ("poste-soins-2",)
    assert by[5].status is PointStatus.NON_COMPLIANT and by[5].hosts_failing == ("accueil-1",)
    assert by[6].status is PointStatus.COMPLIANT and by[6].site_level
    assert by[7].status is PointStatus.NON_COMPLIANT  # awareness older than 12 months
    assert by[8].status is PointStatus.TO_FILL  # charter not declared


def test_exception_point_and_parsing() -> None:
    model = build(excepted_only())
    p5 = next(p for p in model.points if p.point == 5)
    assert p5.status is PointStatus.EXCEPTED
    assert p5.exception_until == _dt.date(2026, 12, 31)
    assert p5.hosts_concerned == ("poste-soins-1",)
    (row,) = model.exceptions
    assert row.exception is not None
    assert row.exception.approved_by == "Mme Durand, directrice"
    assert row.exception.reason.startswith("compte partagé de l'infirmerie")
    assert not row.exception.expired


def test_exception_expiry_relative_to_the_check() -> None:
    today = _dt.date(2026, 3, 1)
    ex = parse_exception("x (approuvée par Y, expire le 2026-02-28)", today)
    assert ex.expired and ex.approved_by == "Y" and ex.expires == _dt.date(2026, 2, 28)
    soon = parse_exception("x (approuvée par Y, expire le 2026-03-10)", today)
    assert soon.expires_soon and not soon.expired
    free = parse_exception("no structured reason", today)
    assert free.reason == "no structured reason" and free.approved_by is None


def test_evidence_age_and_flags() -> None:
    model = build(sample())
    ev = {r.result.control: r.evidence for r in model.evidence}
    assert ev["ESMS-ORG-01"] is not None and not ev["ESMS-ORG-01"].stale
    assert ev["ESMS-ORG-01"].document == "PCA-mode-degrade-v3"
    awareness = ev["ESMS-ORG-02"]
    assert awareness is not None and awareness.stale and awareness.age_months == 18
    assert ev["ESMS-ORG-03"] is not None and ev["ESMS-ORG-03"].missing
    assert months_between(_dt.date(2025, 1, 31), _dt.date(2026, 1, 30)) == 11


def test_incomplete_point() -> None:
    res = make_result(hosts=("poste-soins-1",), fail={})
    rows = tuple(
        ControlResult(r.host, r.control, Verdict.UNREACHABLE, message="ssh: timeout")
        if r.control.startswith("ESMS-LOCK") else r for r in res.results)
    res = CheckResult(res.site, res.started, res.finished, rows, res.baseline_version, res.hosts)
    p4 = next(p for p in build(res).points if p.point == 4)
    assert p4.status is PointStatus.INCOMPLETE and p4.hosts_concerned == ("poste-soins-1",)


# --- HTML ---------------------------------------------------------------------------------

class _Checker(HTMLParser):
    VOID = frozenset({"meta", "br", "col", "link", "img", "input", "hr", "circle", "line",
                      "polyline"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: set[str] = set()
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith("#"):
                self.errors.append(f"external reference {name}={value}")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unbalanced </{tag}> (open: {self.stack[-3:]})")
        else:
            self.stack.pop()


def check_html(text: str) -> _Checker:
    c = _Checker()
    c.feed(text)
    c.close()
    assert not c.errors, c.errors[:5]
    assert not c.stack, c.stack
    return c


def test_html_french_self_contained(tmp_path: Path) -> None:
    h = record_runs(tmp_path / "h.sqlite")
    latest = h.latest("EHPAD Les Tilleuls")
    assert latest is not None
    text = render(latest, "html", history=h.runs(latest.site))
    c = check_html(text)
    assert "script" not in c.tags and "link" not in c.tags and "img" not in c.tags
    assert '<html lang="fr">' in text
    assert "Content-Security-Policy" in text and "@media print" in text
    plain = html.unescape(text)
    for words in ("Synthèse pour la direction", "Conforme", "Non conforme", "À renseigner",
                  "Mises à jour régulières des logiciels", "Charte d'usage informatique",
                  "Mme Durand, directrice", "31 décembre 2026", "trop ancien : à renouveler",
                  "17 mois", "1 sur 4", "l'établissement", "Évolution de la conformité",
                  "Version du référentiel", "Fermeture des shells inactifs"):
        assert words in plain or words.replace(" :", "\u00a0:") in plain, words
    assert text.count("<svg") == 1 and text.count("<circle") == 4
    assert re.search(r"https?://(?!www\.w3\.org/2000/svg)", text) is None


def test_html_exception_until_and_english() -> None:
    fr = render(excepted_only(), "html")
    assert "Dérogation (jusqu&#x27;au 31 décembre 2026)" in fr
    en = render(excepted_only(), "html", lang="en")
    check_html(en)
    assert '<html lang="en">' in en
    assert "Exception (until 2026-12-31)" in en and "Summary for the director" in en
    assert "Conforme" not in en and "Synthèse" not in en


def test_html_escapes_values() -> None:
    res = make_result(fail={("accueil-1", "ESMS-FW-02"): ("<script>alert(1)</script>", "x")})
    text = render(res, "html")
    assert "<script>" not in text and "&lt;script&gt;" in text


# --- JSON ---------------------------------------------------------------------------------

def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_json_valid_against_schema(tmp_path: Path, lang: str) -> None:
    h = record_runs(tmp_path / "h.sqlite")
    latest = h.latest("EHPAD Les Tilleuls")
    assert latest is not None
    doc = json.loads(render(latest, "json", lang=lang, history=h.runs(latest.site)))
    errors = sorted(validator().iter_errors(doc), key=str)
    assert not errors, [e.message for e in errors[:5]]
    assert doc["schema_version"] == 1 and doc["run_id"] == 4 and doc["lang"] == lang
    assert [p["status"] for p in doc["socle"]] == [
        "compliant", "compliant", "not_evaluated", "non_compliant", "non_compliant",
        "compliant", "non_compliant", "to_fill"]
    assert len(doc["trend"]) == 4 and doc["trend"][-1]["run_id"] == 4
    excepted = [r for r in doc["results"] if r["verdict"] == "excepted"]
    assert excepted[0]["exception"]["expires"] == "2026-12-31"


def test_json_valid_for_odd_results() -> None:
    res = CheckResult(
        site="X", started=_dt.datetime(2026, 1, 1, tzinfo=_dt.UTC),
        finished=_dt.datetime(2026, 1, 1, 0, 1, tzinfo=_dt.UTC),
        results=(ControlResult("h1", "ESMS-LOCK-01", Verdict.ERROR, message="boom"),
                 ControlResult("h1", "ESMS-ACC-01", Verdict.NOT_APPLICABLE),
                 ControlResult("h1", "ESMS-XYZ-01", Verdict.FAIL, {"a": [1, 2]}, None)),
        baseline_version="0.1.0", hosts=("h1",))
    doc = json.loads(render(res, "json"))
    assert not list(validator().iter_errors(doc))
    assert doc["exit_code"] == 3 and doc["results"][2]["socle"] is None


# --- JUnit, Markdown ----------------------------------------------------------------------

def test_junit_one_case_per_host_and_control() -> None:
    res = sample()
    root = ET.fromstring(render(res, "junit"))
    cases = root.findall(".//testcase")
    assert len(cases) == len(res.results)
    assert root.get("tests") == str(len(res.results))
    assert root.get("failures") == "4" and root.get("skipped") == "1"
    suites = [s.get("name") for s in root.findall("testsuite")]
    assert suites == [*HOSTS, SITE_HOST]
    fail = next(c for c in cases if c.get("classname") == "esms.poste-soins-2"
                and (c.get("name") or "").startswith("ESMS-LOCK-01"))
    failure = fail.find("failure")
    assert failure is not None and "TMOUT: 900" in (failure.get("message") or "")
    skipped = [c for c in cases if c.find("skipped") is not None]
    reason = skipped[0].find("skipped")
    assert reason is not None and "Mme Durand" in (reason.get("message") or "")


def test_markdown_summary() -> None:
    md = render(sample(), "md")
    assert md.startswith("# Rapport de conformité au socle de sécurité — EHPAD Les Tilleuls")
    table = [line for line in md.splitlines() if re.match(r"^\| \d\. ", line)]
    assert len(table) == 8
    assert "| 4. Verrouillage automatique des sessions | Non conforme | 1 sur 4 |" in md
    assert "## À corriger" in md and "## Dérogations en cours" in md


def test_unknown_format_or_language() -> None:
    with pytest.raises(ReportError):
        render(sample(), "pdf")
    with pytest.raises(ReportError):
        render(sample(), "html", lang="de")
    assert set(FORMATS) == {"html", "json", "junit", "md"}


# --- CLI ----------------------------------------------------------------------------------

def test_cli_report_from_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from esms_baseline.cli import main

    db = tmp_path / "h.sqlite"
    record_runs(db).close()
    out = tmp_path / "r.json"
    assert main(["report", "--site", "EHPAD Les Tilleuls", "--history", str(db),
                 "--format", "json", "-o", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["run_id"] == 4 and len(doc["trend"]) == 4
    assert main(["report", "--run", "2", "--history", str(db), "--format", "md",
                 "--lang", "en"]) == 0
    assert capsys.readouterr().out.startswith("# Security baseline conformance report")
    assert main(["report", "--run", "2", "--history", str(db), "--format", "json",
                 "--trend", "3"]) == 0
    doc2 = json.loads(capsys.readouterr().out)
    assert doc2["run_id"] == 2 and [t["run_id"] for t in doc2["trend"]] == [1, 2]
    assert main(["report", "--site", "Nowhere", "--history", str(db)]) == 2
    assert "no recorded check" in capsys.readouterr().err


def test_cli_report_reads_site_from_profile(tmp_path: Path) -> None:
    from esms_baseline.cli import main
    from esms_baseline.profile import load_profile

    profile = ROOT / "examples" / "site.yml"
    site = load_profile(profile).site.name
    db = tmp_path / "h.sqlite"
    with History(db) as h:
        h.record(make_result(site=site))
    out = tmp_path / "r.html"
    assert main(["report", str(profile), "--history", str(db), "-o", str(out)]) == 0
    check_html(out.read_text(encoding="utf-8"))
