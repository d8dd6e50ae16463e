"""Helpers shared by the rules: reading facts and variables, parsing durations."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from esms_baseline.errors import EsmsError

_MISSING = object()


class FactsUnavailable(EsmsError):
    """The facts a rule needs could not be collected on the host (reported as ``error``)."""


class VariableMissing(EsmsError):
    """A role variable the rule needs is not in the plan (reported as ``error``)."""


def section(facts: Mapping[str, Any], name: str) -> Any:
    """A section of the facts, or FactsUnavailable with the collector's reason."""
    value = facts.get(name)
    if value is None:
        reason = (facts.get("errors") or {}).get(name, "not collected")
        raise FactsUnavailable(f"facts '{name}' unavailable: {reason}")
    return value


def var(variables: Mapping[str, Any], name: str, default: Any = _MISSING) -> Any:
    """A role variable; its documented default when the plan leaves it out, else an error."""
    if name in variables and variables[name] is not None:
        return variables[name]
    if default is _MISSING:
        raise VariableMissing(f"role variable {name} missing from the plan")
    return default


_SPAN_UNITS = {
    "us": 1e-6, "usec": 1e-6, "µs": 1e-6,
    "ms": 1e-3, "msec": 1e-3,
    "s": 1, "sec": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}
_SPAN_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-zµ]*)", re.IGNORECASE)


def span_seconds(text: str | int | None, default_unit: str = "s") -> float | None:
    """Seconds in a systemd/OpenSSH time span ("15min", "1h 30min", "900", "15m").

    None for "infinity", empty or unparseable text (i.e. no limit).
    """
    if text is None:
        return None
    if isinstance(text, int):
        return float(text) * _SPAN_UNITS[default_unit]
    s = text.strip().lower()
    if not s or s in ("infinity", "none"):
        return None
    total = 0.0
    pos = 0
    for m in _SPAN_PART.finditer(s):
        if s[pos:m.start()].strip():
            return None
        unit = m.group(2) or default_unit
        if unit not in _SPAN_UNITS:
            return None
        total += float(m.group(1)) * _SPAN_UNITS[unit]
        pos = m.end()
    if s[pos:].strip() or pos == 0:
        return None
    return total


def as_int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def minutes(seconds: float) -> str:
    """900 -> '900 s (15 min)'."""
    s = int(seconds)
    return f"{s} s ({s // 60} min)" if s % 60 == 0 and s >= 60 else f"{s} s"


def unstated_in_sshd_config(facts: Mapping[str, Any], wanted: Mapping[str, str]) -> list[str]:
    """Problems for each ``keyword: value`` not stated as such in /etc/ssh/sshd_config itself
    (section sshd_config_main): the reference scanner reads that file only, so a value that
    only a drop-in gives is one it cannot see (docs/scanner.md)."""
    main = facts.get("sshd_config_main") or {}
    out = []
    for key, value in wanted.items():
        got = main.get(key.lower())
        if got is None or got.lower() != value.lower():
            out.append(f"/etc/ssh/sshd_config states {key} {got or '(nothing)'}, not {value}")
    return out
