"""Drift: what changed between two checks of the same site, per host.

``compare(previous, current)`` sorts every failing row of either run into:

- ``new_failures``: failing now, not failing in the previous run (passing, excepted, absent,
  or not evaluated then). With no previous run, every failure is new.
- ``still_failing``: failing in both runs.
- ``resolved``: failing before, now passing, excepted or not applicable.
- ``unknown``: failing before, and now not evaluated (error, unreachable host, row gone): the
  drift cannot say whether it was fixed.

Exit codes (:attr:`Drift.exit_code`, documented in docs/report.md), so that cron or a
monitoring system alerts only on what is new:

====  ===========================================================================
0     no failure at all
1     failures, none of them new (known drift)
3     the run is incomplete (a host unreachable or an error) and no failure is new
4     at least one NEW failure (takes precedence: it is what must raise an alert)
====  ===========================================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from esms_baseline.results import CheckResult, ControlResult, Verdict

EXIT_NO_FAILURE = 0
EXIT_KNOWN_FAILURES = 1
EXIT_INCOMPLETE = 3
EXIT_NEW_FAILURES = 4

_NOT_EVALUATED = (Verdict.ERROR, Verdict.UNREACHABLE)


@dataclass(frozen=True)
class HostDrift:
    """The drift of one host (or of the site, host ``(site)``)."""

    host: str
    new_failures: tuple[ControlResult, ...] = ()
    resolved: tuple[ControlResult, ...] = ()
    still_failing: tuple[ControlResult, ...] = ()
    unknown: tuple[ControlResult, ...] = ()
    incomplete: tuple[ControlResult, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.new_failures or self.resolved or self.still_failing or self.unknown
                    or self.incomplete)


@dataclass(frozen=True)
class Drift:
    """Differences between ``previous`` (None: first run) and ``current``.

    The row tuples hold the *current* rows, except ``unknown`` which holds the previous
    failing rows (there is no current verdict to show). ``incomplete`` lists the current
    error / unreachable rows.
    """

    current: CheckResult
    previous: CheckResult | None
    new_failures: tuple[ControlResult, ...]
    resolved: tuple[ControlResult, ...]
    still_failing: tuple[ControlResult, ...]
    unknown: tuple[ControlResult, ...]
    incomplete: tuple[ControlResult, ...]

    @property
    def site(self) -> str:
        return self.current.site

    @property
    def has_new(self) -> bool:
        return bool(self.new_failures)

    @property
    def exit_code(self) -> int:
        if self.new_failures:
            return EXIT_NEW_FAILURES
        if self.incomplete:
            return EXIT_INCOMPLETE
        if self.still_failing or self.current.failures():
            return EXIT_KNOWN_FAILURES
        return EXIT_NO_FAILURE

    def hosts(self) -> tuple[HostDrift, ...]:
        """Per host, in the current run's host order (then hosts only the previous run had)."""
        order: list[str] = list(self.current.hosts)
        for r in (*self.current.results, *self.unknown):
            if r.host not in order:
                order.append(r.host)

        def of(rows: Iterable[ControlResult], host: str) -> tuple[ControlResult, ...]:
            return tuple(r for r in rows if r.host == host)

        return tuple(
            HostDrift(host=h, new_failures=of(self.new_failures, h), resolved=of(self.resolved, h),
                      still_failing=of(self.still_failing, h), unknown=of(self.unknown, h),
                      incomplete=of(self.incomplete, h))
            for h in order
        )

    def to_dict(self) -> dict[str, Any]:
        def rows(items: Iterable[ControlResult]) -> list[dict[str, Any]]:
            return [r.to_dict() for r in items]

        prev = self.previous
        return {
            "site": self.site,
            "current": {"started": self.current.started.isoformat(),
                        "run_id": self.current.details.get("history_run_id")},
            "previous": ({"started": prev.started.isoformat(),
                          "run_id": prev.details.get("history_run_id")} if prev else None),
            "exit_code": self.exit_code,
            "counts": {"new_failures": len(self.new_failures), "resolved": len(self.resolved),
                       "still_failing": len(self.still_failing), "unknown": len(self.unknown),
                       "incomplete": len(self.incomplete)},
            "new_failures": rows(self.new_failures),
            "resolved": rows(self.resolved),
            "still_failing": rows(self.still_failing),
            "unknown": rows(self.unknown),
            "incomplete": rows(self.incomplete),
        }


def compare(previous: CheckResult | None, current: CheckResult) -> Drift:
    """The drift from ``previous`` to ``current`` (see the module documentation)."""
    before: dict[tuple[str, str], ControlResult] = (
        {(r.host, r.control): r for r in previous.results} if previous else {})
    now: dict[tuple[str, str], ControlResult] = {(r.host, r.control): r for r in current.results}
    new: list[ControlResult] = []
    still: list[ControlResult] = []
    resolved: list[ControlResult] = []
    unknown: list[ControlResult] = []
    for key, row in now.items():
        old = before.get(key)
        was_failing = old is not None and old.verdict is Verdict.FAIL
        if row.verdict is Verdict.FAIL:
            (still if was_failing else new).append(row)
        elif was_failing:
            (unknown if row.verdict in _NOT_EVALUATED else resolved).append(row)
    for key, old in before.items():
        if key not in now and old.verdict is Verdict.FAIL:
            unknown.append(old)
    # an unknown row carries the previous failing row (its current one says nothing)
    unknown = [before.get((r.host, r.control), r) for r in unknown]
    incomplete = [r for r in current.results if r.verdict in _NOT_EVALUATED]
    return Drift(current=current, previous=previous, new_failures=tuple(new),
                 resolved=tuple(resolved), still_failing=tuple(still), unknown=tuple(unknown),
                 incomplete=tuple(incomplete))


def format_text(drift: Drift, *, lang: str = "fr") -> str:
    """A plain-text drift summary per host (for the terminal and the e-mail body)."""
    from esms_baseline.report.i18n import control_title, t

    lines: list[str] = []
    prev = drift.previous
    when = drift.current.started.astimezone().strftime("%Y-%m-%d %H:%M")
    lines.append(t("drift_title", lang, site=drift.site, when=when))
    if prev is None:
        lines.append(t("drift_first_run", lang))
    else:
        lines.append(t("drift_since", lang,
                       when=prev.started.astimezone().strftime("%Y-%m-%d %H:%M")))
    lines.append(t("drift_counts", lang, new=len(drift.new_failures),
                   resolved=len(drift.resolved), still=len(drift.still_failing)))
    sections = (("new_failures", "drift_new"), ("resolved", "drift_resolved"),
                ("still_failing", "drift_still"), ("unknown", "drift_unknown"),
                ("incomplete", "drift_incomplete"))
    for hd in drift.hosts():
        if hd.empty:
            continue
        lines.append("")
        lines.append(f"{t('site_label', lang) if hd.host == '(site)' else hd.host}:")
        for attr, label in sections:
            for r in getattr(hd, attr):
                detail = ""
                if r.verdict is Verdict.FAIL and attr != "unknown":
                    detail = t("drift_found_expected", lang, found=_short(r.found, lang),
                               expected=_short(r.expected, lang))
                elif attr in ("incomplete",):
                    detail = f" ({r.message})" if r.message else ""
                lines.append(f"  [{t(label, lang)}] {r.control} "
                             f"{control_title(r.control, lang)}{detail}")
    lines.append("")
    lines.append(t("drift_exit", lang, code=drift.exit_code))
    return "\n".join(lines)


def _short(value: Any, lang: str, limit: int = 80) -> str:
    from esms_baseline.report.i18n import value_text

    text = value_text(value, lang)
    return text if len(text) <= limit else text[: limit - 1] + "…"
