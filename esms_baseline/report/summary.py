"""The report model: a :class:`CheckResult` (and the history) read point by point of the socle.

Every renderer (HTML, JSON, JUnit, Markdown) works from :func:`build`, so that they all say
the same thing. Rules:

- a row is *to fill in* ("à renseigner") when an organisational control fails because
  nothing is declared in the profile;
- a socle point is, in this order: ``non_compliant`` (a failure), ``to_fill`` (missing
  evidence), ``incomplete`` (an error or an unreachable host), ``excepted`` (only exceptions
  besides passes), ``compliant`` (passes), ``not_evaluated`` (no control of the point is
  checked yet);
- an exception's reason carries its approver and expiry: ``"… (approuvée par X, expire le
  YYYY-MM-DD)"``; it is *expired* when that date is before the check;
- the age of organisational evidence is counted on the day of the check.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from esms_baseline.catalogue import SOCLE, Control, load_catalogue
from esms_baseline.history import ApplyRecord, RunSummary, ScanRecord, run_id_of, summary_of
from esms_baseline.results import MANUAL_ACTION, SITE_HOST, CheckResult, ControlResult, Verdict

#: Maximum number of runs in the trend.
TREND_RUNS = 12
#: An exception expiring within this many days of the check is flagged "expires soon".
EXPIRES_SOON_DAYS = 30

_EXCEPTION_RE = re.compile(
    r"^(?P<reason>.*?)\s*\((?:approuvée par|approved by)\s+(?P<approver>.+?),\s*"
    r"(?:expire le|expires)\s+(?P<expires>\d{4}-\d{2}-\d{2})\)\s*$", re.DOTALL)
_EVIDENCE_RE = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})(?:\s*\((?P<document>.*)\))?\s*$", re.DOTALL)
_NOT_DECLARED = "not declared"


class PointStatus(str, Enum):
    COMPLIANT = "compliant"
    NON_COMPLIANT = "non_compliant"
    EXCEPTED = "excepted"
    TO_FILL = "to_fill"
    INCOMPLETE = "incomplete"
    NOT_EVALUATED = "not_evaluated"


@dataclass(frozen=True)
class ExceptionInfo:
    reason: str
    approved_by: str | None
    expires: _dt.date | None
    expired: bool
    expires_soon: bool


@dataclass(frozen=True)
class EvidenceInfo:
    date: _dt.date | None
    document: str | None
    age_days: int | None
    age_months: int | None
    stale: bool
    missing: bool


@dataclass(frozen=True)
class Row:
    """One host x control result, with what the report needs to show it."""

    result: ControlResult
    control: Control | None
    socle: int
    to_fill: bool
    exception: ExceptionInfo | None
    evidence: EvidenceInfo | None

    @property
    def host(self) -> str:
        return self.result.host

    @property
    def manual(self) -> bool:
        """A failure only a person can resolve ("action manuelle requise"): the rule's message
        starts with :data:`~esms_baseline.results.MANUAL_ACTION`."""
        return (self.result.verdict is Verdict.FAIL
                and (self.result.message or "").startswith(MANUAL_ACTION))

    @property
    def status(self) -> str:
        """The row's display status: a verdict value, ``to_fill`` or ``manual``."""
        if self.to_fill:
            return "to_fill"
        return "manual" if self.manual else self.result.verdict.value


@dataclass(frozen=True)
class PointSummary:
    point: int
    status: PointStatus
    rows: tuple[Row, ...]
    controls: tuple[Control, ...]
    hosts_checked: tuple[str, ...]
    hosts_failing: tuple[str, ...]
    hosts_excepted: tuple[str, ...]
    hosts_incomplete: tuple[str, ...]
    exception_until: _dt.date | None

    @property
    def site_level(self) -> bool:
        """True when the point is only about the establishment (organisational evidence)."""
        return bool(self.rows) and all(r.host == SITE_HOST for r in self.rows)

    @property
    def not_checked(self) -> tuple[Control, ...]:
        """Controls of this point that have no row (planned, or not on these platforms)."""
        seen = {r.result.control for r in self.rows}
        return tuple(c for c in self.controls if c.id not in seen)

    @property
    def hosts_concerned(self) -> tuple[str, ...]:
        """The hosts the status is about (failing, excepted, incomplete, or all checked)."""
        if self.status is PointStatus.NON_COMPLIANT:
            return self.hosts_failing
        if self.status is PointStatus.INCOMPLETE:
            return self.hosts_incomplete
        if self.status is PointStatus.EXCEPTED:
            return self.hosts_excepted
        return self.hosts_checked


@dataclass(frozen=True)
class ReportModel:
    result: CheckResult
    run_id: int | None
    points: tuple[PointSummary, ...]
    rows: tuple[Row, ...]
    trend: tuple[RunSummary, ...]
    hosts: tuple[str, ...]
    #: the history's latest scanner agreement and apply of the site (report/recorded.py),
    #: shown when ``recorded`` is True (the caller looked them up: None then means "none")
    scanner: ScanRecord | None = None
    last_apply: ApplyRecord | None = None
    recorded: bool = False

    @property
    def exceptions(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.exception is not None)

    @property
    def evidence(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.evidence is not None)

    def status_counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in PointStatus}
        for p in self.points:
            counts[p.status.value] += 1
        return counts


def parse_exception(message: str, today: _dt.date) -> ExceptionInfo:
    """Split an excepted row's reason into reason, approver and expiry date."""
    m = _EXCEPTION_RE.match(message or "")
    if not m:
        return ExceptionInfo(reason=message or "", approved_by=None, expires=None,
                             expired=False, expires_soon=False)
    try:
        expires: _dt.date | None = _dt.date.fromisoformat(m["expires"])
    except ValueError:
        expires = None
    expired = expires is not None and expires < today
    soon = (expires is not None and not expired
            and (expires - today).days <= EXPIRES_SOON_DAYS)
    return ExceptionInfo(reason=m["reason"].strip(), approved_by=m["approver"].strip(),
                         expires=expires, expired=expired, expires_soon=soon)


def months_between(start: _dt.date, end: _dt.date) -> int:
    """Whole months from ``start`` to ``end`` (0 if ``end`` is earlier)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day:
        months -= 1
    return max(months, 0)


def parse_evidence(result: ControlResult, today: _dt.date) -> EvidenceInfo:
    """The date, document and age of an organisational control's evidence."""
    found = result.found if isinstance(result.found, str) else ""
    m = _EVIDENCE_RE.match(found)
    if not m:
        return EvidenceInfo(date=None, document=None, age_days=None, age_months=None,
                            stale=False, missing=result.verdict is Verdict.FAIL)
    day = _dt.date.fromisoformat(m["date"])
    months = months_between(day, today)
    # the check applied the profile's maximum age: its verdict says whether it is too old
    stale = result.verdict is Verdict.FAIL
    return EvidenceInfo(date=day, document=m["document"], age_days=(today - day).days,
                        age_months=months, stale=stale, missing=False)


def _row(result: ControlResult, control: Control | None, today: _dt.date) -> Row:
    organisational = control is not None and control.kind == "organisational"
    to_fill = (organisational and result.verdict is Verdict.FAIL
               and (result.found is None or str(result.found).strip() == _NOT_DECLARED))
    exception = (parse_exception(result.message, today)
                 if result.verdict is Verdict.EXCEPTED else None)
    evidence = (parse_evidence(result, today)
                if organisational and result.verdict in (Verdict.PASS, Verdict.FAIL) else None)
    return Row(result=result, control=control, socle=control.socle if control else 0,
               to_fill=to_fill, exception=exception, evidence=evidence)


def _point(point: int, rows: tuple[Row, ...], controls: tuple[Control, ...]) -> PointSummary:
    def hosts(pred: Callable[[Row], bool]) -> tuple[str, ...]:
        out: list[str] = []
        for r in rows:
            if r.host != SITE_HOST and r.host not in out and pred(r):
                out.append(r.host)
        return tuple(out)

    verdicts = {r.result.verdict for r in rows}
    if any(r.result.verdict is Verdict.FAIL and not r.to_fill for r in rows):
        status = PointStatus.NON_COMPLIANT
    elif any(r.to_fill for r in rows):
        status = PointStatus.TO_FILL
    elif verdicts & {Verdict.ERROR, Verdict.UNREACHABLE}:
        status = PointStatus.INCOMPLETE
    elif Verdict.EXCEPTED in verdicts:
        status = PointStatus.EXCEPTED
    elif verdicts & {Verdict.PASS, Verdict.WARNING}:  # a warning conforms today
        status = PointStatus.COMPLIANT
    else:
        status = PointStatus.NOT_EVALUATED
    expiries = [r.exception.expires for r in rows if r.exception and r.exception.expires]
    return PointSummary(
        point=point, status=status, rows=rows, controls=controls,
        # a host where the point does not apply (no backup there...) is not "concerned"
        hosts_checked=hosts(lambda r: r.result.verdict is not Verdict.NOT_APPLICABLE),
        hosts_failing=hosts(lambda r: r.result.verdict is Verdict.FAIL),
        hosts_excepted=hosts(lambda r: r.result.verdict is Verdict.EXCEPTED),
        hosts_incomplete=hosts(
            lambda r: r.result.verdict in (Verdict.ERROR, Verdict.UNREACHABLE)),
        exception_until=min(expiries) if expiries else None,
    )


def trend_of(result: CheckResult, history: Sequence[RunSummary] | None,
             limit: int = TREND_RUNS) -> tuple[RunSummary, ...]:
    """The last ``limit`` runs, oldest first, ending with ``result`` (added if missing)."""
    runs: dict[tuple[int, str], RunSummary] = {}
    for s in history or ():
        runs[(s.run_id, s.started.isoformat())] = s
    current = summary_of(result)
    if not any(s.started == current.started and s.site == current.site
               for s in runs.values()):
        runs[(current.run_id, current.started.isoformat())] = current
    ordered = sorted((s for s in runs.values() if s.started <= result.started),
                     key=lambda s: (s.started, s.run_id))
    return tuple(ordered[-limit:])


def build(result: CheckResult, history: Sequence[RunSummary] | None = None, *,
          recorded: tuple[ScanRecord | None, ApplyRecord | None] | None = None) -> ReportModel:
    """The report model of ``result``; ``history``: earlier runs of the site, for the trend;
    ``recorded``: the site's latest scanner agreement and apply (each None when there is
    none), to show them."""
    cat = load_catalogue()
    today = result.started.date()
    known = {c.id: c for c in cat.controls}
    rows = tuple(_row(r, known.get(r.control), today) for r in result.results)
    points = tuple(
        _point(p, tuple(r for r in rows if r.socle == p), cat.by_socle(p)) for p in sorted(SOCLE))
    hosts = result.hosts or tuple(dict.fromkeys(r.host for r in result.results
                                                if r.host != SITE_HOST))
    return ReportModel(result=result, run_id=run_id_of(result), points=points, rows=rows,
                       trend=trend_of(result, history), hosts=hosts,
                       scanner=recorded[0] if recorded else None,
                       last_apply=recorded[1] if recorded else None,
                       recorded=recorded is not None)
