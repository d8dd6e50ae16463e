"""Socle 4, session lock: ESMS-LOCK-01..04 on Debian."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from typing import Any

from esms_baseline.conformance.model import Outcome
from esms_baseline.conformance.rules._util import (
    as_int,
    minutes,
    section,
    span_seconds,
    unstated_in_sshd_config,
    var,
)

_UINT64_MAX = 2**64 - 1


def _idle_seconds(variables: Mapping[str, Any]) -> int:
    return int(var(variables, "esms_session_lock_idle_minutes")) * 60


def _tmout_from_files(files: Mapping[str, list[str]]) -> dict[str, Any]:
    """Fallback when the login shell could not be probed: read the assignments."""
    value: str | None = None
    readonly = exported = False
    for lines in files.values():
        for line in lines:
            m = re.search(r"\bTMOUT=['\"]?(\d+)", line)
            if m:
                value = m.group(1)
            if re.search(r"\b(readonly|declare\s+-\w*r|typeset\s+-\w*r)\b.*TMOUT", line):
                readonly = True
            if re.search(r"\b(export|declare\s+-\w*x)\b.*TMOUT", line):
                exported = True
    return {"set": value is not None, "value": value, "readonly": readonly, "exported": exported}


def lock_01(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-LOCK-01: login shells get a read-only, exported TMOUT of at most idle_minutes."""
    limit = _idle_seconds(variables)
    t = section(facts, "tmout")
    eff = t["effective"]
    source = "login shell of an unprivileged user"
    if not eff.get("available"):
        eff = _tmout_from_files(t.get("files") or {})
        source = "profile files (login shell probe unavailable)"
    value = as_int(eff.get("value")) if eff.get("set") else None
    found = {
        "TMOUT": value if value is not None else "unset",
        "readonly": bool(eff.get("readonly")),
        "exported": bool(eff.get("exported")),
        "files": sorted(t.get("files") or {}),
        "source": source,
    }
    expected = f"TMOUT between 1 and {minutes(limit)}, readonly and exported"
    problems = []
    if value is None or value <= 0:
        problems.append("TMOUT is not set")
    elif value > limit:
        problems.append(f"TMOUT={value} s is longer than {limit} s")
    if not eff.get("readonly"):
        problems.append("TMOUT is not readonly (a user can unset it)")
    if not eff.get("exported"):
        problems.append("TMOUT is not exported")
    return Outcome(not problems, found, expected, "; ".join(problems) or "idle shells close")


def _channel_timeouts(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        out += [p for p in str(item).split() if "=" in p]
    return out


def session_channel_timeout(value: Any) -> float | None:
    """Seconds of the ChannelTimeout that applies to interactive sessions, None if none."""
    for entry in _channel_timeouts(value):
        pattern, _, interval = entry.partition("=")
        if any(fnmatch.fnmatchcase(t, pattern) for t in ("session", "session:shell")):
            secs = span_seconds(interval)
            return secs if secs else None
    return None


def lock_02(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-LOCK-02: sshd -T shows ChannelTimeout session <= idle and the declared ClientAlive."""
    limit = _idle_seconds(variables)
    interval = int(var(variables, "esms_session_lock_ssh_alive_interval_seconds", 300))
    count = int(var(variables, "esms_session_lock_ssh_alive_count_max", 3))
    sshd = section(facts, "sshd")
    ci = as_int(sshd.get("clientaliveinterval")) or 0
    cm = as_int(sshd.get("clientalivecountmax")) or 0
    session = session_channel_timeout(sshd.get("channeltimeout"))
    found = {
        "ChannelTimeout": sshd.get("channeltimeout", "none"),
        "ClientAliveInterval": ci,
        "ClientAliveCountMax": cm,
    }
    expected = (
        f"ChannelTimeout session between 1 s and {minutes(limit)}; "
        f"ClientAliveInterval {interval} s x ClientAliveCountMax {count} "
        f"(unresponsive clients cut after {interval * count} s), both stated in sshd_config too"
    )
    problems = []
    if session is None:
        problems.append("no ChannelTimeout for sessions: idle SSH sessions are never cut")
    elif session > limit:
        problems.append(f"session ChannelTimeout {int(session)} s is longer than {limit} s")
    if ci != interval or ci <= 0:
        problems.append(f"ClientAliveInterval is {ci}, not {interval}")
    if cm != count or cm <= 0:
        problems.append(f"ClientAliveCountMax is {cm}, not {count}")
    problems += unstated_in_sshd_config(
        facts, {"ClientAliveInterval": str(interval), "ClientAliveCountMax": str(count)})
    return Outcome(not problems, found, expected, "; ".join(problems) or "idle SSH sessions cut")


def lock_03(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-LOCK-03: systemd-logind StopIdleSessionSec <= idle (configured AND running)."""
    limit = _idle_seconds(variables)
    version = section(facts, "systemd").get("version")
    if version is not None and version < 252:
        return Outcome.not_applicable(
            f"systemd {version} has no StopIdleSessionSec (needs 252)", found=f"systemd {version}"
        )
    logind = section(facts, "logind")
    configured_raw = logind["config"].get("StopIdleSessionSec")
    configured = span_seconds(configured_raw) if configured_raw else None
    running = logind.get("running") or {}
    running_s: float | None = None
    if running.get("available"):
        usec = int(running["StopIdleSessionUSec"])
        running_s = None if usec in (0, _UINT64_MAX) else usec / 1e6
    found = {
        "StopIdleSessionSec (configuration)": configured_raw or "infinity",
        "StopIdleSessionSec (running logind)": (
            ("infinity" if running_s is None else f"{int(running_s)}s")
            if running.get("available") else "not readable"
        ),
    }
    expected = f"StopIdleSessionSec between 1 s and {minutes(limit)}, in force in systemd-logind"
    problems = []
    if configured is None or configured <= 0:
        problems.append("StopIdleSessionSec not configured")
    elif configured > limit:
        problems.append(f"StopIdleSessionSec {int(configured)} s is longer than {limit} s")
    if running.get("available") and running_s != configured:
        problems.append("the running systemd-logind has another value (not restarted?)")
    elif running.get("available") and running_s is not None and running_s > limit:
        problems.append(f"systemd-logind runs with {int(running_s)} s")
    return Outcome(not problems, found, expected, "; ".join(problems) or "idle sessions stopped")


_GNOME_KEYS = (
    ("org/gnome/desktop/session", "idle-delay"),
    ("org/gnome/desktop/screensaver", "lock-enabled"),
    ("org/gnome/desktop/screensaver", "lock-delay"),
)


def _gvariant_uint(value: str | None) -> int | None:
    if value is None:
        return None
    m = re.fullmatch(r"(?:uint32\s+)?(\d+)", value.strip())
    return int(m.group(1)) if m else None


def lock_04(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-LOCK-04: GNOME locks after idle time via locked dconf keys (n/a without desktop)."""
    dconf = section(facts, "dconf")
    if not dconf.get("installed"):
        return Outcome.not_applicable("no desktop (neither dconf nor GNOME Shell installed)",
                                      found="no dconf, no gnome-shell")
    limit = _idle_seconds(variables)
    lock_delay = int(var(variables, "esms_session_lock_lock_delay_seconds", 0))
    names = [ln.split(":", 1)[1] for ln in dconf.get("profile_user") or []
             if ln.startswith("system-db:")]
    values: dict[str, str] = {}
    locks: set[str] = set()
    stale: list[str] = []
    for name in names:
        db = (dconf.get("dbs") or {}).get(name)
        if not db:
            continue
        for section_name, key in _GNOME_KEYS:
            v = (db.get("keys") or {}).get(section_name, {}).get(key)
            if v is not None:
                values.setdefault(f"{section_name}/{key}", v)
        locks.update(db.get("locks") or [])
        if not db.get("compiled_up_to_date"):
            stale.append(name)
    idle = _gvariant_uint(values.get("org/gnome/desktop/session/idle-delay"))
    delay = _gvariant_uint(values.get("org/gnome/desktop/screensaver/lock-delay"))
    enabled = values.get("org/gnome/desktop/screensaver/lock-enabled")
    missing_locks = sorted(
        f"/{s}/{k}" for s, k in _GNOME_KEYS if f"/{s}/{k}" not in locks
    )
    found = {"system dbs": names, "keys": values, "locked keys": sorted(locks)}
    expected = (
        f"idle-delay between 1 s and {minutes(limit)}, lock-enabled true, lock-delay <= "
        f"{lock_delay} s, all three locked, system db compiled (dconf update)"
    )
    problems = []
    if not names:
        problems.append("no system-db in /etc/dconf/profile/user")
    if idle is None or idle <= 0 or idle > limit:
        problems.append(f"idle-delay is {values.get('org/gnome/desktop/session/idle-delay')}")
    if enabled != "true":
        problems.append(f"lock-enabled is {enabled}")
    if delay is None or delay > lock_delay:
        problems.append(f"lock-delay is {values.get('org/gnome/desktop/screensaver/lock-delay')}")
    if missing_locks:
        problems.append("not locked: " + ", ".join(missing_locks))
    if stale:
        problems.append("dconf update not run for " + ", ".join(stale))
    return Outcome(not problems, found, expected, "; ".join(problems) or "screen locks")
