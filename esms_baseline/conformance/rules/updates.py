"""Socle 1, updates: ESMS-UPD-01..03 on Debian (unattended-upgrades, apt-daily-upgrade.timer)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from esms_baseline.conformance.model import Outcome
from esms_baseline.conformance.rules._util import section, span_seconds, var

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TRUE = ("1", "true", "yes", "on")


def _origins(config: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for key in ("Unattended-Upgrade::Origins-Pattern", "Unattended-Upgrade::Allowed-Origins"):
        value = config.get(key)
        if isinstance(value, list):
            out += [v for v in value if v]
    return out


def _is_security(origin: str) -> bool:
    return "security" in origin.lower()


def upd_01(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-UPD-01: unattended-upgrades installed, enabled by APT::Periodic, right origins,
    apt-daily-upgrade.timer enabled."""
    scope = str(var(variables, "esms_updates_scope"))
    config = section(facts, "apt")["config"]
    pkgs = section(facts, "packages")
    timer = section(facts, "timer")
    origins = _origins(config)
    security = [o for o in origins if _is_security(o)]
    others = [o for o in origins if not _is_security(o)]
    found = {
        "unattended-upgrades": pkgs.get("unattended-upgrades") or "not installed",
        "APT::Periodic::Update-Package-Lists": config.get("APT::Periodic::Update-Package-Lists"),
        "APT::Periodic::Unattended-Upgrade": config.get("APT::Periodic::Unattended-Upgrade"),
        "origins": origins,
        "apt-daily-upgrade.timer": f"{timer.get('UnitFileState')}/{timer.get('ActiveState')}",
    }
    expected = (
        "unattended-upgrades installed; APT::Periodic Update-Package-Lists and "
        "Unattended-Upgrade >= 1; apt-daily-upgrade.timer enabled/active; origins: "
        + ("security only" if scope == "security" else "security and the distribution")
    )
    problems = []
    if not pkgs.get("unattended-upgrades"):
        problems.append("unattended-upgrades not installed")
    for key in ("APT::Periodic::Update-Package-Lists", "APT::Periodic::Unattended-Upgrade"):
        v = str(config.get(key) or "0")
        if not (v.isdigit() and int(v) >= 1) and v.lower() != "always":
            problems.append(f"{key} is {config.get(key)}")
    if config.get("APT::Periodic::Enable") == "0":
        problems.append("APT::Periodic::Enable is 0")
    if not security:
        problems.append("no security origin")
    if scope == "security" and others:
        problems.append("non-security origins with scope security: " + ", ".join(others))
    if scope == "all" and not others:
        problems.append("scope all but only security origins")
    if timer.get("UnitFileState") not in ("enabled", "static") or timer.get("ActiveState") != "active":
        problems.append("apt-daily-upgrade.timer not enabled and active")
    return Outcome(not problems, found, expected, "; ".join(problems) or "automatic updates on")


_WEEKDAY_TOKEN = re.compile(r"^[A-Za-z][A-Za-z.,]*$")


def _expand_days(spec: str) -> set[str]:
    days: set[str] = set()
    for part in spec.lower().split(","):
        if ".." in part:
            a, b = (DAYS.index(x[:3]) for x in part.split("..", 1))
            days.update(DAYS[i] for i in (range(a, b + 1) if a <= b else [*range(a, 7), *range(b + 1)]))
        elif part:
            days.add(part[:3])
    return days


def parse_calendar(spec: str) -> tuple[frozenset[str], str] | None:
    """systemd's normalised 'Sun *-*-* 03:00:00' -> ({'sun'}, '03:00'); None if not daily/weekly
    at a fixed time."""
    tokens = spec.split()
    days: set[str] = set(DAYS)
    if tokens and _WEEKDAY_TOKEN.match(tokens[0]):
        try:
            days = _expand_days(tokens.pop(0))
        except ValueError:
            return None
    if len(tokens) == 2 and tokens[0] == "*-*-*":
        tokens.pop(0)
    if len(tokens) != 1:
        return None
    m = re.fullmatch(r"(\d{1,2}):(\d{2})(?::00)?", tokens[0])
    if not m:
        return None
    return frozenset(days), f"{int(m.group(1)):02d}:{m.group(2)}"


def _window_timer(timer: Mapping[str, Any], days: list[str], start: str, duration: int
                  ) -> tuple[dict[str, Any], list[str]]:
    """What apt-daily-upgrade.timer does, and why it may start upgrades outside the window."""
    calendars = list(timer.get("calendars") or [])
    delay = span_seconds(timer.get("RandomizedDelayUSec") or "0") or 0.0
    persistent = str(timer.get("Persistent", "no"))
    fired: set[tuple[str, str]] = set()
    unparsed = []
    for cal in calendars:
        parsed = parse_calendar(cal)
        if parsed is None:
            unparsed.append(cal)
        else:
            fired.update((d, parsed[1]) for d in parsed[0])
    want = {(d, start) for d in days}
    found = {"OnCalendar": calendars or "none", "RandomizedDelaySec": f"{int(delay)} s",
             "Persistent": persistent}
    problems = []
    if unparsed:
        problems.append("calendar not a fixed weekly time: " + ", ".join(unparsed))
    if fired - want:
        problems.append("fires outside the window: " + ", ".join(
            f"{d} {t}" for d, t in sorted(fired - want)))
    if want - fired:
        problems.append("does not fire at: " + ", ".join(f"{d} {t}" for d, t in sorted(want - fired)))
    if delay >= duration:
        problems.append(f"random delay {int(delay)} s reaches past the window")
    if persistent == "yes":
        problems.append("Persistent=yes: a missed run catches up at boot, outside the window")
    return found, problems


def upd_02(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-UPD-02: apt-daily-upgrade.timer fires on the window's days at its start, with a
    random delay that stays inside the window, and no catch-up at boot."""
    days = [str(d)[:3].lower() for d in var(variables, "esms_updates_window_days")]
    start = str(var(variables, "esms_updates_window_start"))
    duration = int(var(variables, "esms_updates_window_duration_minutes")) * 60
    found, problems = _window_timer(section(facts, "timer"), days, start, duration)
    expected = (f"OnCalendar {','.join(d.capitalize() for d in days)} {start}; "
                f"RandomizedDelaySec < {duration} s (window of {duration // 60} min); "
                "Persistent=no")
    return Outcome(not problems, found, expected, "; ".join(problems) or "in the window")


def _hhmm(value: str | None) -> str | None:
    if not value:
        return None
    m = re.fullmatch(r"(\d{1,2}):(\d{2})(?::00)?", value.strip())
    return f"{int(m.group(1)):02d}:{m.group(2)}" if m else value.strip()


def upd_03(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-UPD-03: Automatic-Reboot off (never), or on (in_window) at the window start: either
    Automatic-Reboot-Time = start, or "now" right after an upgrade run that itself only
    starts at the window start (apt-daily-upgrade.timer as in ESMS-UPD-02)."""
    reboot = str(var(variables, "esms_updates_reboot"))
    start = str(var(variables, "esms_updates_window_start"))
    config = section(facts, "apt")["config"]
    auto = str(config.get("Unattended-Upgrade::Automatic-Reboot") or "false").lower()
    at = config.get("Unattended-Upgrade::Automatic-Reboot-Time")
    found: dict[str, Any] = {"Automatic-Reboot": auto, "Automatic-Reboot-Time": at}
    if reboot == "never":
        ok = auto not in _TRUE
        return Outcome(ok, found, "Automatic-Reboot false",
                       "no automatic reboot" if ok else "reboots automatically")
    expected = (f"Automatic-Reboot true, Automatic-Reboot-Time {start} (or now, after an "
                f"upgrade run that starts only at {start} on the window days)")
    if auto not in _TRUE:
        return Outcome(False, found, expected, "no automatic reboot")
    when = _hhmm(at) or "now"  # unattended-upgrades' default time is "now"
    if when == start:
        return Outcome(True, found, expected, "reboots at the window start")
    if when == "now":
        days = [str(d)[:3].lower() for d in var(variables, "esms_updates_window_days")]
        duration = int(var(variables, "esms_updates_window_duration_minutes")) * 60
        timer_found, problems = _window_timer(section(facts, "timer"), days, start, duration)
        found["apt-daily-upgrade.timer"] = timer_found
        if not problems:
            return Outcome(True, found, expected, "reboots right after the upgrade run, in the window")
        return Outcome(False, found, expected,
                       "reboots right after upgrades that may run outside the window: "
                       + "; ".join(problems))
    return Outcome(False, found, expected, f"reboots at {at}, not {start}")
