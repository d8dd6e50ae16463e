"""Socle 2, antivirus: ESMS-AV-01/02 on Debian (ClamAV).

AV-01: ClamAV installed, freshclam's daemon enabled and running, and the scan the profile
names running (scheduled: esms-clamscan.timer; on_access: clamd and clamonacc). AV-02: the
daily signature database is younger than the maximum age, read from the build time in its
header. No database, or a stale one, is a failure, never a pass; custom databases (.ndb,
.hdb...) carry no build time and are not counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from esms_baseline.conformance.model import Outcome
from esms_baseline.conformance.rules._util import section, var

FRESHCLAM = "clamav-freshclam.service"
CLAMD = "clamav-daemon.service"
CLAMONACC = "clamav-clamonacc.service"
SCAN_TIMER = "esms-clamscan.timer"
SCAN_SERVICE = "esms-clamscan.service"


def _not_asked(variables: Mapping[str, Any]) -> Outcome | None:
    if not bool(var(variables, "esms_antivirus_enabled", True)):
        return Outcome.not_applicable("the profile does not ask for an antivirus on this host")
    return None


def _state(unit: Mapping[str, Any] | None) -> str:
    if not unit or unit.get("LoadState") == "not-found":
        return "absent"
    return f"{unit.get('UnitFileState')}/{unit.get('ActiveState')}"


def _running(unit: Mapping[str, Any] | None) -> bool:
    return bool(unit) and unit.get("UnitFileState") == "enabled" and unit.get("ActiveState") == "active"  # type: ignore[union-attr]


def av_01(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-AV-01: ClamAV installed, freshclam running, the profile's scan running."""
    na = _not_asked(variables)
    if na:
        return na
    scan = str(var(variables, "esms_antivirus_scan", "scheduled"))
    pkgs = section(facts, "packages")
    units = section(facts, "units")
    av = section(facts, "antivirus")
    found: dict[str, Any] = {
        "clamav": pkgs.get("clamav") or "not installed",
        FRESHCLAM: _state(units.get(FRESHCLAM)),
    }
    expected: dict[str, Any] = {"clamav": "installed", FRESHCLAM: "enabled/active"}
    problems = []
    if not pkgs.get("clamav"):
        problems.append("ClamAV (clamav) not installed")
    if not _running(units.get(FRESHCLAM)):
        problems.append(f"the signature updater {FRESHCLAM} is not enabled and running")
    if scan == "scheduled":
        timer = units.get(SCAN_TIMER)
        last = units.get(SCAN_SERVICE) or {}
        found[SCAN_TIMER] = f"{_state(timer)} {(timer or {}).get('calendars') or []}"
        found["scan paths"] = av.get("scan_paths")
        found["last scan"] = (f"{last.get('Result')} (exit {last.get('ExecMainStatus')}, "
                              f"{last.get('ExecMainExitTimestamp') or 'never'})")
        expected[SCAN_TIMER] = "enabled/active, daily"
        expected["scan paths"] = "at least one"
        expected["last scan"] = "success (or not run yet)"
        calendars = (timer or {}).get("calendars") or []
        if not _running(timer):
            problems.append(f"{SCAN_TIMER} not enabled and active")
        elif not any(c.startswith(("*-*-* ", "daily")) for c in calendars):
            problems.append(f"{SCAN_TIMER} is not daily: {calendars}")
        if not av.get("scan_paths"):
            problems.append("no path to scan (/etc/esms-baseline/clamscan-paths)")
        if last.get("ActiveState") == "failed" or last.get("Result") not in (None, "success"):
            why = {"1": "a virus was found", "2": "clamscan error (e.g. no signature database)"}
            problems.append("the last scan failed: "
                            + why.get(str(last.get("ExecMainStatus")), f"exit {last.get('ExecMainStatus')}"))
    else:
        found[CLAMD] = _state(units.get(CLAMD))
        found[CLAMONACC] = _state(units.get(CLAMONACC))
        found["fanotify"] = av.get("fanotify")
        expected[CLAMD] = "enabled/active"
        expected[CLAMONACC] = "enabled/active"
        for unit in (CLAMD, CLAMONACC):
            if not _running(units.get(unit)):
                problems.append(f"{unit} not enabled and running")
        if not str(av.get("fanotify") or "").startswith("available"):
            problems.append(f"on-access scanning needs fanotify, {av.get('fanotify')} on this host")
        if not any(d.get("kind") == "official" for d in av.get("databases") or []):
            problems.append("clamd cannot start without a signature database")
    return Outcome(not problems, found, expected,
                   "; ".join(problems) or f"ClamAV installed, {scan} scan running")


def av_02(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-AV-02: the daily signature database is younger than max_signature_age_days."""
    na = _not_asked(variables)
    if na:
        return na
    max_days = int(var(variables, "esms_antivirus_max_signature_age_days"))
    av = section(facts, "antivirus")
    dbs = av.get("databases") or []
    official = [d for d in dbs if d.get("kind") == "official"]
    custom = [d["name"] for d in dbs if d.get("kind") == "custom"]
    expected = f"daily signatures younger than {max_days} days"
    found: dict[str, Any] = {"databases": [d["name"] for d in official] or "none"}
    if custom:
        found["custom databases (not counted: no build time)"] = custom
    log = av.get("freshclam_log_tail") or []
    if log:
        found["freshclam log"] = log[-1]
    if not official:
        return Outcome(False, found, expected,
                       "no signature database in /var/lib/clamav (freshclam never updated: "
                       "no access to the signature mirrors?)")
    daily = [d for d in official if d["name"].split(".")[0] == "daily"]
    if not daily:
        return Outcome(False, found, expected, "no daily signature database (only "
                       + ", ".join(d["name"] for d in official) + ")")
    built = max((d.get("built") or 0) for d in daily)
    if not built:
        return Outcome(False, found, expected, "the daily database has no readable build time")
    age_days = max(0.0, (int(av.get("now") or 0) - built) / 86400)
    version = max((d.get("version") or 0) for d in daily)
    found["daily"] = f"version {version}, {age_days:.1f} days old"
    if age_days > max_days:
        return Outcome(False, found, expected,
                       f"signatures {age_days:.1f} days old (maximum {max_days}): stale")
    return Outcome(True, found, expected, f"signatures {age_days:.1f} days old")
