"""ESMS-UPD-04: the operating system release still receives security updates.

Debian: the release from os-release VERSION_ID (or /etc/debian_version), its end of
security support from ``catalogue/eol.yml`` (LTS counted unless the profile says
otherwise). Windows: the build number and the edition family (EditionID, ProductType)
the collector reads, and the ESU enrolment the profile declares.

pass: the end is more than ``warn_days`` away; warning: within ``warn_days``; fail: past
it, or a release the table does not know (nothing proves it is supported).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from esms_baseline.catalogue.eol import (
    Support,
    debian_major,
    debian_support,
    edition_family,
    verdict_of,
    windows_support,
)
from esms_baseline.conformance.model import Outcome
from esms_baseline.conformance.rules._util import as_int, section, var

DEFAULT_WARN_DAYS = 180


def _today(raw: Any) -> _dt.date:
    try:
        return _dt.date.fromisoformat(str(raw))
    except ValueError:
        return _dt.date.today()


def _decide(support: Support, today: _dt.date, warn_days: int) -> Outcome:
    verdict, left = verdict_of(support, today, warn_days)
    found = {"release": support.release,
             "security_updates_until": support.end.isoformat() if support.end else None,
             "phase": support.phase if verdict != "fail" else "ended",
             "plan": support.advice}
    if support.regular_end and support.phase in ("lts", "esu"):
        found["regular_support_ended" if support.regular_end < today
              else "regular_support_until"] = support.regular_end.isoformat()
    expected = (f"security updates on {today.isoformat()}, "
                f"end more than {warn_days} days away")
    if verdict == "unknown":
        return Outcome(False, found, expected,
                       f"{support.release} is not in the end-of-support table: nothing proves "
                       "it still receives security updates")
    assert support.end is not None and left is not None
    end = support.end.isoformat()
    if verdict == "fail":
        return Outcome(False, found, expected,
                       f"{support.release} has received no security update since {end} "
                       f"({-left} days): {support.advice} to plan")
    if verdict == "warning":
        return Outcome(True, found, expected,
                       f"{support.release} receives security updates until {end} "
                       f"({left} days left): {support.advice} to plan", warning=True)
    return Outcome(True, found, expected,
                   f"{support.release} receives security updates until {end}")


def upd_04_debian(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    rel = section(facts, "release")
    warn_days = int(var(variables, "esms_updates_eol_warn_days", DEFAULT_WARN_DAYS))
    count_lts = bool(var(variables, "esms_updates_eol_count_debian_lts", True))
    if rel.get("id") not in (None, "debian"):
        return Outcome(False, {"release": rel.get("pretty_name") or rel.get("id")},
                       "a Debian release", f"{rel.get('id')} is not Debian: its end of "
                       "support is not in the table")
    major = debian_major(rel.get("version_id"), rel.get("debian_version"))
    return _decide(debian_support(major, count_lts=count_lts), _today(rel.get("today")),
                   warn_days)


def _esu_until(variables: Mapping[str, Any]) -> _dt.date | None:
    raw = var(variables, "esms_updates_windows_esu_until", None)
    if raw is None:
        return None
    return raw if isinstance(raw, _dt.date) else _dt.date.fromisoformat(str(raw))


def upd_04_windows(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    os_ = section(facts, "os")
    edition = facts.get("os_edition") or {}
    warn_days = int(var(variables, "esms_updates_eol_warn_days", DEFAULT_WARN_DAYS))
    build = as_int(edition.get("current_build") or os_.get("build"))
    family = edition_family(edition.get("edition_id"), as_int(os_.get("product_type")),
                            str(os_.get("caption") or ""))
    support = windows_support(build, family,
                              esu_program=var(variables, "esms_updates_windows_esu_program", None),
                              esu_until=_esu_until(variables))
    today = _today(str(facts.get("collected_at") or "")[:10])
    return _decide(support, today, warn_days)
