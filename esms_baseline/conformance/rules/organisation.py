"""Socles 6-8, organisational evidence: ESMS-ORG-01..03, checked on the site, not on a host.

The profile declares a date (and a document reference) per control; the check verifies it is
present and not older than ``max_age_months``. Nothing declared is a failure ("à renseigner"),
never a pass.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from esms_baseline.conformance.model import Outcome

DEFAULT_MAX_AGE_MONTHS = 12


def add_months(day: _dt.date, months: int) -> _dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    for d in (day.day, 30, 29, 28):
        try:
            return _dt.date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover


def evidence(control_id: str, organisation: Mapping[str, Any], today: _dt.date) -> Outcome:
    entry = organisation.get(control_id) or {}
    max_age = entry.get("max_age_months", DEFAULT_MAX_AGE_MONTHS)
    expected = (f"declared, dated less than {max_age} months ago" if max_age is not None
                else "declared with its date")
    raw = entry.get("date")
    document = entry.get("document")
    if not raw:
        return Outcome(False, "not declared", expected,
                       "à renseigner / to be filled in: no date in the profile")
    try:
        day = raw if isinstance(raw, _dt.date) else _dt.date.fromisoformat(str(raw))
    except ValueError:
        return Outcome(False, str(raw), expected, f"not a date: {raw!r}")
    found = f"{day.isoformat()}" + (f" ({document})" if document else "")
    if day > today:
        return Outcome(False, found, expected, "dated in the future")
    if max_age is not None and add_months(day, int(max_age)) < today:
        return Outcome(False, found, expected,
                       f"older than {max_age} months (expired {add_months(day, int(max_age))})")
    return Outcome(True, found, expected, "evidence present and fresh")
