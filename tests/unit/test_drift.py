"""Drift between two checks, its exit codes, its text, and the ``drift`` command."""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from esms_baseline.drift import (
    EXIT_INCOMPLETE,
    EXIT_KNOWN_FAILURES,
    EXIT_NEW_FAILURES,
    EXIT_NO_FAILURE,
    compare,
    format_text,
)
from esms_baseline.history import History
from esms_baseline.results import SITE_HOST, CheckResult, ControlResult, Verdict
from tests.unit.test_report import DEFAULT_FAILS, make_result

ROOT = Path(__file__).resolve().parents[2]
T0 = _dt.datetime(2026, 3, 1, 2, 30, tzinfo=_dt.UTC)
LOCK = ("poste-soins-2", "ESMS-LOCK-01")
PWD = ("accueil-1", "ESMS-PWD-01")
FW = ("srv-dui", "ESMS-FW-02")


def run(day: int, fails: Mapping[tuple[str, str], tuple[object, object]]) -> CheckResult:
    return make_result(when=T0 + _dt.timedelta(days=day), fail=fails)


def ids(rows: tuple[ControlResult, ...]) -> set[tuple[str, str]]:
    return {(r.host, r.control) for r in rows}


def test_first_run_every_failure_is_new() -> None:
    d = compare(None, run(0, {LOCK: (0, 900)}))
    assert ids(d.new_failures) == {LOCK, (SITE_HOST, "ESMS-ORG-02"), (SITE_HOST, "ESMS-ORG-03")}
    assert d.exit_code == EXIT_NEW_FAILURES and d.has_new


def test_same_failures_are_known() -> None:
    d = compare(run(0, DEFAULT_FAILS), run(1, DEFAULT_FAILS))
    assert not d.new_failures and not d.resolved
    assert ids(d.still_failing) >= {LOCK, PWD}
    assert d.exit_code == EXIT_KNOWN_FAILURES


def test_new_and_resolved_per_host() -> None:
    d = compare(run(0, {LOCK: (0, 900), PWD: (8, 12)}), run(1, {PWD: (8, 12), FW: ("x", "y")}))
    assert ids(d.new_failures) == {FW}
    assert ids(d.resolved) == {LOCK}
    assert d.resolved[0].verdict is Verdict.PASS  # the current row
    assert PWD in ids(d.still_failing)
    assert d.exit_code == EXIT_NEW_FAILURES
    hosts = {h.host: h for h in d.hosts()}
    assert ids(hosts["srv-dui"].new_failures) == {FW}
    assert ids(hosts["poste-soins-2"].resolved) == {LOCK}
    assert hosts["poste-soins-1"].empty


def test_no_failure_at_all() -> None:
    clean = make_result(fail={})
    rows = tuple(r for r in clean.results if r.host != SITE_HOST)
    clean = CheckResult(clean.site, clean.started, clean.finished, rows, "0.1.0", clean.hosts)
    assert compare(clean, clean).exit_code == EXIT_NO_FAILURE


def _with(result: CheckResult, key: tuple[str, str], verdict: Verdict) -> CheckResult:
    rows = tuple(ControlResult(r.host, r.control, verdict, message="ssh timeout")
                 if (r.host, r.control) == key else r for r in result.results)
    return CheckResult(result.site, result.started, result.finished, rows,
                       result.baseline_version, result.hosts)


def test_incomplete_and_unknown() -> None:
    before = run(0, DEFAULT_FAILS)
    now = _with(run(1, {PWD: (8, 12)}), LOCK, Verdict.UNREACHABLE)
    d = compare(before, now)
    assert ids(d.unknown) == {LOCK} and d.unknown[0].verdict is Verdict.FAIL
    assert ids(d.incomplete) == {LOCK} and not d.resolved
    assert d.exit_code == EXIT_INCOMPLETE
    # a new failure wins over an incomplete run: it is what must raise an alert
    d2 = compare(before, _with(run(1, {**DEFAULT_FAILS, FW: (1, 2)}), PWD, Verdict.ERROR))
    assert d2.exit_code == EXIT_NEW_FAILURES


def test_expired_exception_becomes_a_new_failure() -> None:
    before = run(0, {})  # poste-soins-1 ESMS-ACC-02 excepted
    after = run(1, {("poste-soins-1", "ESMS-ACC-02"): (["infirmerie"], [])})
    assert ids(compare(before, after).new_failures) == {("poste-soins-1", "ESMS-ACC-02")}


def test_host_gone_makes_its_failures_unknown() -> None:
    before = run(0, DEFAULT_FAILS)
    after = make_result(when=T0 + _dt.timedelta(days=1), hosts=("poste-soins-1",), fail={})
    d = compare(before, after)
    assert {LOCK, PWD} <= ids(d.unknown)
    assert "poste-soins-2" in {h.host for h in d.hosts()}


def test_text_french_and_english() -> None:
    d = compare(run(0, {LOCK: (0, 900)}), run(1, {PWD: ({"minlen": 8}, {"minlen": 12})}))
    fr = format_text(d)
    assert "1 nouvel(s) écart(s), 1 écart(s) résolu(s)" in fr
    assert "[NOUVEAU] ESMS-PWD-01 Robustesse des mots de passe (CNIL 2022)" in fr
    assert "constaté : minlen: 8 ; attendu : minlen: 12" in fr
    assert "[résolu] ESMS-LOCK-01" in fr and "Code de sortie : 4." in fr
    en = format_text(d, lang="en")
    assert "[NEW] ESMS-PWD-01 Password strength" in en and "Exit code: 4." in en
    assert json.loads(json.dumps(d.to_dict()))["counts"]["new_failures"] == 1


# --- the drift command, with a fake check ---------------------------------------------------

class FakeCheck:
    def __init__(self, results: list[CheckResult]) -> None:
        self.results = results
        self.calls: list[tuple[Any, ...]] = []

    def __call__(self, profile: Any, inventory: Path | None, limit: str | None,
                 forks: int) -> CheckResult:
        self.calls.append((profile.site.name, inventory, limit, forks))
        res = self.results.pop(0)
        return CheckResult(profile.site.name, res.started, res.finished, res.results,
                           res.baseline_version, res.hosts)


def drift_cli(argv: list[str], fake: FakeCheck) -> int:
    from esms_baseline.cli import build_parser
    from esms_baseline.cli.drift_cmd import run as drift_run

    args = build_parser().parse_args(["drift", *argv])
    return drift_run(args, check_fn=fake)


def test_drift_command_records_and_compares(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("ESMS_NOTIFY_SMTP", "ESMS_WEBHOOK_URL", "ESMS_MAIL_TO", "ESMS_MAIL_FROM"):
        monkeypatch.delenv(var, raising=False)
    profile = ROOT / "examples" / "site.yml"
    db = tmp_path / "h.sqlite"
    fake = FakeCheck([run(0, DEFAULT_FAILS), run(1, DEFAULT_FAILS), run(2, {PWD: (8, 12)}),
                      run(3, {FW: (1, 2)})])
    base = [str(profile), "--history", str(db), "-l", "nursing", "-f", "3"]
    assert drift_cli(base, fake) == EXIT_NEW_FAILURES
    assert "Première vérification enregistrée" in capsys.readouterr().out
    assert drift_cli(base, fake) == EXIT_KNOWN_FAILURES
    assert "persistant" in capsys.readouterr().out
    assert drift_cli([*base, "--json"], fake) == EXIT_KNOWN_FAILURES
    doc = json.loads(capsys.readouterr().out)
    assert doc["exit_code"] == 1 and doc["counts"]["resolved"] == 1  # LOCK fixed
    assert doc["previous"]["run_id"] == 2 and doc["current"]["run_id"] == 3
    assert drift_cli([*base, "--lang", "en"], fake) == EXIT_NEW_FAILURES
    out = capsys.readouterr().out
    assert "[NEW] ESMS-FW-02" in out and "[resolved] ESMS-PWD-01" in out
    assert fake.calls[0][2:] == ("nursing", 3)
    with History(db) as h:
        assert [r.run_id for r in h.runs(fake.calls[0][0])] == [4, 3, 2, 1]

