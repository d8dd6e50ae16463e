"""The history under stress: corrupted rows, a concurrent writer holding the lock, file
modes; and the drift command's exit status for the nightly unit (a crash is never 1/10)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from esms_baseline import history as hist
from esms_baseline.cli import main
from esms_baseline.history import History, HistoryError
from tests.unit.test_drift import FakeCheck, drift_cli, run
from tests.unit.test_report import DEFAULT_FAILS, make_result

ROOT = Path(__file__).resolve().parents[2]


def _recorded(tmp_path: Path) -> tuple[Path, str]:
    db = tmp_path / "h.sqlite"
    res = make_result(fail=DEFAULT_FAILS)
    with History(db) as h:
        h.record(res)
    return db, res.site


@pytest.mark.parametrize("sql", [
    "UPDATE runs SET hosts = '{not json'",
    "UPDATE runs SET details = '[1,'",
    "UPDATE runs SET started = 'yesterday'",
    "UPDATE results SET found = '{\"a\":' WHERE seq = 0",
    "UPDATE results SET verdict = 'maybe' WHERE seq = 1",
])
def test_corrupted_row_is_a_clear_history_error(tmp_path: Path, sql: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    db, site = _recorded(tmp_path)
    conn = sqlite3.connect(db)
    conn.execute(sql)
    conn.commit()
    conn.close()
    with History(db) as h, pytest.raises(HistoryError, match="corrupted row"):
        h.latest(site)
        h.runs(site)
    assert main(["report", "--site", site, "--history", str(db)]) == 3
    err = capsys.readouterr().err
    assert "corrupted row" in err and str(db) in err and "Traceback" not in err


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(HistoryError, match="h.sqlite"):
        History(db)


_HOLD = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


def _hold_lock(db: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(db), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_a_concurrent_writer_is_waited_for(tmp_path: Path) -> None:
    db, _ = _recorded(tmp_path)
    holder = _hold_lock(db, 3.0)
    try:
        started = time.monotonic()
        with History(db) as h:
            run_id = h.record(make_result(fail=DEFAULT_FAILS))
        waited = time.monotonic() - started
    finally:
        holder.communicate(timeout=10)
    assert run_id == 2 and waited >= 1.5  # it waited for the other writer, then wrote


def test_a_lock_held_too_long_is_a_clear_error(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    db, _ = _recorded(tmp_path)
    monkeypatch.setattr(hist, "BUSY_TIMEOUT_SECONDS", 0.5)
    holder = _hold_lock(db, 4.0)
    try:
        with pytest.raises(HistoryError, match="stayed locked by another process"), History(db) as h:
            h.record(make_result(fail=DEFAULT_FAILS))
    finally:
        holder.communicate(timeout=10)


def test_history_file_and_folder_are_private(tmp_path: Path) -> None:
    db = tmp_path / "state" / "esms" / "history.sqlite"
    old = os.umask(0o022)
    try:
        with History(db) as h:
            h.record(make_result())
    finally:
        os.umask(old)
    assert db.stat().st_mode & 0o777 == 0o600
    assert db.parent.stat().st_mode & 0o777 == 0o700
    db.chmod(0o644)  # an older, world-readable history is tightened when opened
    History(db).close()
    assert db.stat().st_mode & 0o777 == 0o600


def test_drift_exit_status_for_the_unit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    for var in ("ESMS_NOTIFY_SMTP", "ESMS_WEBHOOK_URL", "ESMS_MAIL_TO", "ESMS_MAIL_FROM"):
        monkeypatch.delenv(var, raising=False)
    profile = ROOT / "examples" / "site.yml"
    base = [str(profile), "--history", str(tmp_path / "h.sqlite"), "--known-failures-exit", "10"]
    fake = FakeCheck([run(0, DEFAULT_FAILS), run(1, DEFAULT_FAILS)])
    assert drift_cli(base, fake) == 4
    assert drift_cli(base, fake) == 10  # known failures, as the unit asks

    from esms_baseline.cli import drift_cmd

    def crash(*_: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(drift_cmd, "default_check", crash)
    assert main(["drift", *base]) == 3  # an internal error: never 1 nor 10
    assert "internal error" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # 0-4 are reserved: a usage error (exit 2)
        main(["drift", *base[:3], "--known-failures-exit", "3"])
    assert exc.value.code == 2
