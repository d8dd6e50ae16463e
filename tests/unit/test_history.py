"""The SQLite history: record, read back, order, and versioned schema migrations."""

from __future__ import annotations

import datetime as _dt
import sqlite3
from pathlib import Path

import pytest

from esms_baseline import history as hist
from esms_baseline.history import (
    MIGRATIONS,
    SCHEMA_VERSION,
    History,
    HistoryError,
    default_history_path,
    run_id_of,
)
from esms_baseline.results import SITE_HOST, CheckResult, ControlResult, Verdict
from tests.unit.test_report import DEFAULT_FAILS, make_result

T0 = _dt.datetime(2026, 3, 1, 2, 30, tzinfo=_dt.UTC)


def test_record_and_rebuild(tmp_path: Path) -> None:
    res = make_result(fail=DEFAULT_FAILS)
    res = CheckResult(res.site, res.started, res.finished, res.results, res.baseline_version,
                      res.hosts, details={"seconds": 42.0, "collect": {"poste-soins-1": "ok"}})
    with History(tmp_path / "sub" / "h.sqlite") as h:
        run_id = h.record(res)
        back = h.latest(res.site)
    assert run_id == 1 and back is not None
    assert back.results == res.results  # verdicts, found/expected (JSON values), messages
    assert back.started == res.started and back.finished == res.finished
    assert back.hosts == res.hosts and back.baseline_version == "0.1.0"
    assert back.details["seconds"] == 42.0 and run_id_of(back) == 1
    assert back.exit_code == res.exit_code == 1


def test_runs_order_limit_previous(tmp_path: Path) -> None:
    h = History(tmp_path / "h.sqlite")
    ids = [h.record(make_result(when=T0 + _dt.timedelta(days=i))) for i in range(5)]
    h.record(make_result(when=T0, site="Autre site", hosts=("pc-1",)))
    runs = h.runs("EHPAD Les Tilleuls", limit=3)
    assert [r.run_id for r in runs] == [5, 4, 3]  # newest first
    assert runs[0].counts["pass"] > 0 and runs[0].tool_version
    assert 0 < (runs[0].compliance_rate or 0) < 1
    assert len(h.runs("EHPAD Les Tilleuls", limit=None)) == 5
    prev = h.previous("EHPAD Les Tilleuls", ids[3])
    assert prev is not None and run_id_of(prev) == ids[2]
    assert h.previous("EHPAD Les Tilleuls", ids[0]) is None
    assert h.latest("Inconnu") is None
    assert h.sites() == ["Autre site", "EHPAD Les Tilleuls"]
    assert h.delete_before("EHPAD Les Tilleuls", keep=2) == 3
    assert [r.run_id for r in h.runs("EHPAD Les Tilleuls")] == [5, 4]
    with pytest.raises(HistoryError):
        h.get(1)
    h.close()


def test_values_of_any_json_type(tmp_path: Path) -> None:
    rows = (
        ControlResult("h", "ESMS-FW-02", Verdict.FAIL, ["22/tcp", {"port": 3389}], ["22/tcp"]),
        ControlResult("h", "ESMS-LOCK-01", Verdict.PASS, 900, 900),
        ControlResult("h", "ESMS-ACC-05", Verdict.PASS, True, None, "accents é à ç"),
        ControlResult(SITE_HOST, "ESMS-ORG-01", Verdict.EXCEPTED, message="raison"),
    )
    res = CheckResult("S", T0, T0, rows, "0.1.0", ("h",))
    with History(tmp_path / "h.sqlite") as h:
        back = h.get(h.record(res))
    assert back.results == rows


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("ESMS_HISTORY", "ESMS_STATE_DIR", "XDG_STATE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_history_path() == tmp_path / ".local/state/esms-baseline/history.sqlite"
    monkeypatch.setenv("ESMS_STATE_DIR", str(tmp_path / "state"))
    assert default_history_path() == tmp_path / "state" / "history.sqlite"
    monkeypatch.setenv("ESMS_HISTORY", str(tmp_path / "x.sqlite"))
    assert default_history_path() == tmp_path / "x.sqlite"
    with History() as h:
        assert h.path == tmp_path / "x.sqlite"
    assert (tmp_path / "x.sqlite").exists()


def _make_v1(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(MIGRATIONS[0])
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied TEXT NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (1, '2025-01-01T00:00:00+00:00')")
    conn.execute("INSERT INTO runs (site, started, finished, baseline_version, hosts, exit_code)"
                 " VALUES ('S', '2025-01-01T02:30:00+00:00', '2025-01-01T02:31:00+00:00',"
                 " '0.0.9', '[\"h\"]', 1)")
    conn.execute("INSERT INTO results VALUES (1, 0, 'h', 'ESMS-LOCK-01', 'fail', '0', '900', 'm')")
    conn.close()


def test_old_database_is_migrated(tmp_path: Path) -> None:
    db = tmp_path / "v1.sqlite"
    _make_v1(db)
    with History(db) as h:
        assert h.schema_version == SCHEMA_VERSION == 3
        old = h.get(1)
        assert old.results[0].verdict is Verdict.FAIL and old.results[0].found == 0
        assert old.baseline_version == "0.0.9"
        (summary,) = h.runs("S")
        assert summary.tool_version == "" and summary.counts == {}
        new_id = h.record(make_result(site="S", hosts=("h",)))
        assert new_id == 2 and h.summary(2).tool_version
    conn = sqlite3.connect(db)
    versions = [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY 1")]
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    conn.close()
    assert versions == [1, 2, 3] and "runs_site_id" in indexes and "scans_site_id" in indexes


def test_failed_migration_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "v1.sqlite"
    _make_v1(db)
    broken = (MIGRATIONS[0], MIGRATIONS[1] + "\nCREATE TABLE oops (;\n")
    monkeypatch.setattr(hist, "MIGRATIONS", broken)
    with pytest.raises(HistoryError):
        History(db)
    conn = sqlite3.connect(db)
    cols = {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
    version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
    conn.close()
    assert version == 1 and "tool_version" not in cols  # all or nothing


def test_newer_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    History(db).close()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("INSERT INTO schema_version VALUES (99, 'future')")
    conn.close()
    with pytest.raises(HistoryError, match="newer than this tool"):
        History(db)
