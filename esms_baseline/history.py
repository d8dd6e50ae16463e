"""The check history: every recorded check, per site, in a local SQLite database.

``History(path)`` opens (and creates or migrates) the database. Its default path is
``$ESMS_HISTORY`` if set, else ``$ESMS_STATE_DIR/history.sqlite``, else
``$XDG_STATE_HOME/esms-baseline/history.sqlite`` (``~/.local/state/...``).

Schema migrations are versioned: :data:`MIGRATIONS` is an ordered list of SQL scripts; the
``schema_version`` table records which were applied; opening an older database applies the
missing ones in one transaction (all or nothing). Never edit a released migration: append one.

One run row per check (site, start and end, tool and baseline version, hosts, exit code,
counts) and one result row per host x control (verdict, found and expected values as JSON,
message). :meth:`History.latest` and :meth:`History.get` rebuild a
:class:`~esms_baseline.results.CheckResult` from them.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from esms_baseline import __version__
from esms_baseline.errors import EsmsError
from esms_baseline.results import ApplyResult, CheckResult, ControlResult, Verdict

HISTORY_ENV = "ESMS_HISTORY"
STATE_DIR_ENV = "ESMS_STATE_DIR"
#: The key under which a reconstructed CheckResult carries its run id in ``details``.
RUN_ID_KEY = "history_run_id"

#: Ordered schema migrations: ``MIGRATIONS[i]`` takes the database to version ``i + 1``.
MIGRATIONS: tuple[str, ...] = (
    # v1: runs and their per host x control results
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        site TEXT NOT NULL,
        started TEXT NOT NULL,
        finished TEXT NOT NULL,
        baseline_version TEXT NOT NULL,
        hosts TEXT NOT NULL,
        exit_code INTEGER NOT NULL
    );
    CREATE TABLE results (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        host TEXT NOT NULL,
        control TEXT NOT NULL,
        verdict TEXT NOT NULL,
        found TEXT,
        expected TEXT,
        message TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (run_id, seq)
    );
    """,
    # v2: the tool version that ran the check, the run's details and counts; lookups by site
    """
    ALTER TABLE runs ADD COLUMN tool_version TEXT NOT NULL DEFAULT '';
    ALTER TABLE runs ADD COLUMN details TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE runs ADD COLUMN counts TEXT NOT NULL DEFAULT '{}';
    CREATE INDEX runs_site_id ON runs(site, id);
    CREATE INDEX results_host_control ON results(host, control);
    """,
    # v3: the reference scanner's agreement with a recorded check, and the applies (their
    # manual actions), each with a JSON payload (ScanRecord, ApplyRecord)
    """
    CREATE TABLE scans (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        site TEXT NOT NULL,
        check_run_id INTEGER,
        recorded TEXT NOT NULL,
        payload TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX scans_site_id ON scans(site, id);
    CREATE TABLE applies (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        site TEXT NOT NULL,
        started TEXT NOT NULL,
        finished TEXT NOT NULL,
        status TEXT NOT NULL,
        exit_code INTEGER NOT NULL,
        payload TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX applies_site_id ON applies(site, id);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)



def apply_payload(result: ApplyResult, mode: str = "apply") -> dict[str, Any]:
    """What :meth:`History.record_apply` keeps of an apply: its mode, hosts, changes and the
    manual actions it left to a person (the report's "Actions manuelles requises")."""
    return {"mode": mode, "hosts": [h.host for h in result.hosts], "changed": result.changed,
            "manual_actions": [{"host": h, "control": a.control, "reason": a.reason}
                               for h, a in result.manual_actions]}

class HistoryError(EsmsError):
    """The history database cannot be opened, is newer than this tool, is locked for too
    long by another process, holds a corrupted row, or has no such run."""


#: How long a writer waits for another process's lock before giving up (seconds).
BUSY_TIMEOUT_SECONDS = 60.0


@contextmanager
def _guard(path: Path, what: str) -> Iterator[None]:
    """Turn SQLite and decoding errors into a HistoryError that says what and where."""
    try:
        yield
    except HistoryError:
        raise
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise HistoryError(
                f"the history {path} stayed locked by another process (a check or a nightly "
                f"drift still writing?) for more than {BUSY_TIMEOUT_SECONDS:.0f} s while "
                f"{what}: try again later") from exc
        raise HistoryError(f"the history {path} cannot be used ({what}): {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise HistoryError(f"the history {path} is damaged ({what}): {exc}") from exc
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise HistoryError(
            f"the history {path} holds a corrupted row ({what}): {type(exc).__name__}: "
            f"{exc}; the file was edited or damaged outside esms-baseline") from exc


def _create_private(path: Path) -> None:
    """The history's folder (0700 when we create it) and file (0600, tightened if wider)."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
        os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def default_history_path() -> Path:
    """``$ESMS_HISTORY``, else ``$ESMS_STATE_DIR/history.sqlite``, else the XDG state dir."""
    env = os.environ.get(HISTORY_ENV)
    if env:
        return Path(env)
    state = os.environ.get(STATE_DIR_ENV)
    if state:
        return Path(state) / "history.sqlite"
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "esms-baseline" / "history.sqlite"


@dataclass(frozen=True)
class RunSummary:
    """One recorded run, without its rows: enough for a list or a trend."""

    run_id: int
    site: str
    started: _dt.datetime
    finished: _dt.datetime
    baseline_version: str
    tool_version: str
    hosts: tuple[str, ...]
    exit_code: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def compliance_rate(self) -> float | None:
        """Share of evaluated rows that pass: pass / (pass + fail); excepted, errors and
        unreachable hosts are left out. None when nothing was evaluated."""
        passed = self.counts.get(Verdict.PASS.value, 0)
        failed = self.counts.get(Verdict.FAIL.value, 0)
        return passed / (passed + failed) if passed + failed else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "site": self.site,
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat(),
            "baseline_version": self.baseline_version,
            "tool_version": self.tool_version,
            "hosts": list(self.hosts),
            "exit_code": self.exit_code,
            "counts": dict(self.counts),
            "compliance_rate": self.compliance_rate,
        }


@dataclass(frozen=True)
class ScanRecord:
    """A recorded run of the reference scanner compared with a recorded check: ``payload``
    holds the scanner and content versions, the hosts and the per host x rule rows
    (``esms_baseline.scanner.record.scan_payload``)."""

    scan_id: int
    site: str
    check_run_id: int | None
    recorded: _dt.datetime
    payload: dict[str, Any]


@dataclass(frozen=True)
class ApplyRecord:
    """A recorded apply: its status and, in ``payload``, its manual actions
    (``{"manual_actions": [{"host", "control", "reason"}], "hosts": [...], "mode": ...}``)."""

    apply_id: int
    site: str
    started: _dt.datetime
    finished: _dt.datetime
    status: str
    exit_code: int
    payload: dict[str, Any]


def summary_of(result: CheckResult, run_id: int = 0, tool_version: str = __version__) -> RunSummary:
    """The :class:`RunSummary` of a result (not necessarily recorded: ``run_id`` 0)."""
    return RunSummary(
        run_id=int(result.details.get(RUN_ID_KEY, run_id) or run_id),
        site=result.site,
        started=result.started,
        finished=result.finished,
        baseline_version=result.baseline_version,
        tool_version=tool_version,
        hosts=result.hosts,
        exit_code=result.exit_code,
        counts=dict(result.counts()),
    )


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str,
                                                   sort_keys=True)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _time(text: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(text)


def _schema_version(conn: sqlite3.Connection) -> int:
    has = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_version'").fetchone()
    if not has:
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Apply the missing migrations up to ``target``, in one transaction; return the version.

    ``conn`` must be in autocommit mode (``isolation_level=None``): the transaction is ours.
    """
    current = _schema_version(conn)
    if current > SCHEMA_VERSION:
        raise HistoryError(
            f"the history database is at schema version {current}, newer than this tool "
            f"({SCHEMA_VERSION}): upgrade esms-baseline")
    if current >= target:
        return current
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = _schema_version(conn)  # another process may have migrated meanwhile
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version ("
                     "version INTEGER PRIMARY KEY, applied TEXT NOT NULL)")
        for version in range(current + 1, target + 1):
            for statement in _statements(MIGRATIONS[version - 1]):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version, applied) VALUES (?, ?)",
                         (version, _dt.datetime.now().astimezone().isoformat()))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return target


def _statements(script: str) -> Iterator[str]:
    # executescript() would commit the open transaction: run statement by statement.
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                yield buf.strip()
            buf = ""
    if buf.strip():
        yield buf.strip()


class History:
    """The check history in a SQLite file (created with its folder if missing)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_history_path()
        try:
            _create_private(self.path)
            self._conn = sqlite3.connect(self.path, isolation_level=None,
                                         timeout=BUSY_TIMEOUT_SECONDS)
        except (OSError, sqlite3.Error) as exc:
            raise HistoryError(f"cannot open the history {self.path}: {exc}") from exc
        try:
            with _guard(self.path, "opening it"):
                # writers wait for each other (sqlite busy handler) instead of failing
                self._conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
                self._conn.execute("PRAGMA foreign_keys = ON")
                self.schema_version = migrate(self._conn)
        except HistoryError:
            self._conn.close()
            raise

    # -- lifetime ---------------------------------------------------------------------------
    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    # -- writing ----------------------------------------------------------------------------
    def record(self, result: CheckResult, *, tool_version: str = __version__) -> int:
        """Store ``result``; return its run id (increasing with each record)."""
        with _guard(self.path, "recording a run"):
            details = {k: v for k, v in result.details.items() if k != RUN_ID_KEY}
            with self._transaction() as conn:
                cur = conn.execute(
                    "INSERT INTO runs (site, started, finished, baseline_version, hosts, exit_code,"
                    " tool_version, details, counts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (result.site, result.started.isoformat(), result.finished.isoformat(),
                     result.baseline_version, json.dumps(list(result.hosts)), result.exit_code,
                     tool_version, _dump(details) or "{}", _dump(dict(result.counts())) or "{}"),
                )
                run_id = int(cur.lastrowid or 0)
                conn.executemany(
                    "INSERT INTO results (run_id, seq, host, control, verdict, found, expected,"
                    " message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(run_id, i, r.host, r.control, r.verdict.value, _dump(r.found),
                      _dump(r.expected), r.message or "") for i, r in enumerate(result.results)],
                )
            return run_id

    def delete_before(self, site: str, keep: int) -> int:
        """Keep only the ``keep`` latest runs of ``site``; return how many were removed."""
        with _guard(self.path, "removing old runs"):
            with self._transaction() as conn:
                ids = [r[0] for r in conn.execute(
                    "SELECT id FROM runs WHERE site = ? ORDER BY id DESC LIMIT -1 OFFSET ?",
                    (site, keep))]
                for run_id in ids:
                    conn.execute("DELETE FROM results WHERE run_id = ?", (run_id,))
                    conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
            return len(ids)

    def record_scan(self, site: str, check_run_id: int | None, payload: dict[str, Any],
                    recorded: _dt.datetime | None = None) -> int:
        """Store a scanner agreement compared with the check ``check_run_id``; its id."""
        when = (recorded or _dt.datetime.now().astimezone()).isoformat()
        with _guard(self.path, "recording a scanner run"), self._transaction() as conn:
            cur = conn.execute("INSERT INTO scans (site, check_run_id, recorded, payload)"
                               " VALUES (?, ?, ?, ?)",
                               (site, check_run_id, when, _dump(payload) or "{}"))
            return int(cur.lastrowid or 0)

    def latest_scan(self, site: str) -> ScanRecord | None:
        """The latest recorded scanner agreement of ``site``, or None."""
        with _guard(self.path, "reading the latest scanner run"):
            row = self._conn.execute(
                "SELECT id, site, check_run_id, recorded, payload FROM scans WHERE site = ?"
                " ORDER BY id DESC LIMIT 1", (site,)).fetchone()
            if row is None:
                return None
            return ScanRecord(int(row[0]), row[1], None if row[2] is None else int(row[2]),
                              _time(row[3]), dict(json.loads(row[4])))

    def record_apply(self, site: str, started: _dt.datetime, finished: _dt.datetime,
                     status: str, exit_code: int, payload: dict[str, Any]) -> int:
        """Store an apply (its manual actions in ``payload``); its id."""
        with _guard(self.path, "recording an apply"), self._transaction() as conn:
            cur = conn.execute(
                "INSERT INTO applies (site, started, finished, status, exit_code, payload)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (site, started.isoformat(), finished.isoformat(), status, int(exit_code),
                 _dump(payload) or "{}"))
            return int(cur.lastrowid or 0)

    def latest_apply(self, site: str) -> ApplyRecord | None:
        """The latest recorded apply of ``site``, or None."""
        with _guard(self.path, "reading the latest apply"):
            row = self._conn.execute(
                "SELECT id, site, started, finished, status, exit_code, payload FROM applies"
                " WHERE site = ? ORDER BY id DESC LIMIT 1", (site,)).fetchone()
            if row is None:
                return None
            return ApplyRecord(int(row[0]), row[1], _time(row[2]), _time(row[3]), row[4],
                               int(row[5]), dict(json.loads(row[6])))

    # -- reading ----------------------------------------------------------------------------
    _RUN_COLUMNS = ("id, site, started, finished, baseline_version, tool_version, hosts,"
                    " exit_code, counts")

    def _summary(self, row: Sequence[Any]) -> RunSummary:
        return RunSummary(
            run_id=int(row[0]), site=row[1], started=_time(row[2]), finished=_time(row[3]),
            baseline_version=row[4], tool_version=row[5], hosts=tuple(json.loads(row[6])),
            exit_code=int(row[7]), counts={str(k): int(v) for k, v in json.loads(row[8]).items()},
        )

    def sites(self) -> list[str]:
        """Every site with at least one recorded run, sorted."""
        with _guard(self.path, "listing sites"):
            return [r[0] for r in self._conn.execute("SELECT DISTINCT site FROM runs ORDER BY site")]

    def runs(self, site: str, limit: int | None = 20) -> list[RunSummary]:
        """The latest ``limit`` runs of ``site`` (all if None), newest first."""
        with _guard(self.path, "listing runs"):
            rows = self._conn.execute(
                f"SELECT {self._RUN_COLUMNS} FROM runs WHERE site = ? ORDER BY id DESC LIMIT ?",
                (site, -1 if limit is None else int(limit)))
            return [self._summary(r) for r in rows]

    def get(self, run_id: int) -> CheckResult:
        """The run ``run_id``, rebuilt; :class:`HistoryError` if there is none."""
        with _guard(self.path, "reading a run"):
            row = self._conn.execute(
                "SELECT id, site, started, finished, baseline_version, hosts, details FROM runs"
                " WHERE id = ?", (int(run_id),)).fetchone()
            if row is None:
                raise HistoryError(f"no run {run_id} in the history {self.path}")
            results = tuple(
                ControlResult(host=r[0], control=r[1], verdict=Verdict(r[2]), found=_load(r[3]),
                              expected=_load(r[4]), message=r[5])
                for r in self._conn.execute(
                    "SELECT host, control, verdict, found, expected, message FROM results"
                    " WHERE run_id = ? ORDER BY seq", (int(run_id),))
            )
            details = dict(json.loads(row[6]) or {})
            details[RUN_ID_KEY] = int(row[0])
            return CheckResult(site=row[1], started=_time(row[2]), finished=_time(row[3]),
                               results=results, baseline_version=row[4],
                               hosts=tuple(json.loads(row[5])), details=details)

    def summary(self, run_id: int) -> RunSummary:
        with _guard(self.path, "reading a run"):
            row = self._conn.execute(f"SELECT {self._RUN_COLUMNS} FROM runs WHERE id = ?",
                                     (int(run_id),)).fetchone()
            if row is None:
                raise HistoryError(f"no run {run_id} in the history {self.path}")
            return self._summary(row)

    def latest(self, site: str) -> CheckResult | None:
        """The latest recorded run of ``site``, rebuilt, or None."""
        with _guard(self.path, "reading the latest run"):
            row = self._conn.execute("SELECT MAX(id) FROM runs WHERE site = ?", (site,)).fetchone()
            return self.get(int(row[0])) if row and row[0] is not None else None

    def previous(self, site: str, before_run_id: int) -> CheckResult | None:
        """The run of ``site`` recorded just before ``before_run_id``, rebuilt, or None."""
        with _guard(self.path, "reading the previous run"):
            row = self._conn.execute("SELECT MAX(id) FROM runs WHERE site = ? AND id < ?",
                                     (site, int(before_run_id))).fetchone()
            return self.get(int(row[0])) if row and row[0] is not None else None


def run_id_of(result: CheckResult) -> int | None:
    """The history run id of a result rebuilt by :class:`History`, else None."""
    value = result.details.get(RUN_ID_KEY)
    return int(value) if value is not None else None
