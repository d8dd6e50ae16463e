"""Shared helpers of the Windows rules: the desired state, outcomes, registry checks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from esms_baseline.conformance.model import Outcome
from esms_baseline.conformance.rules._util import FactsUnavailable, section
from esms_baseline.windows import parse
from esms_baseline.windows.desired import (
    RegistryValue,
    WindowsDesiredState,
    desired_state,
)

ADMINISTRATORS_SID = "S-1-5-32-544"
#: "Core Networking" rules (DHCP, ICMPv6, IPHTTPS...) stay enabled: the host needs them.
CORE_NETWORKING_GROUP = "@firewallapi.dll,-25000"
#: Limitations that make the control fail (the others are notes in the message).
BLOCKING_LIMITATIONS = frozenset({"ESMS-PWD-01"})
_LOOPBACK = ("127.", "::1")

Rule = Callable[[Mapping[str, Any], Mapping[str, Any]], Outcome]


def _desired(variables: Mapping[str, Any]) -> WindowsDesiredState:
    return desired_state(variables)


def _notes(d: WindowsDesiredState, control: str) -> str:
    lims = d.limitations_for(control)
    return (" (Windows: " + "; ".join(lims) + ")") if lims else ""


def _outcome(control: str, d: WindowsDesiredState, problems: list[str], found: Any,
             expected: Any, ok_message: str) -> Outcome:
    if control in BLOCKING_LIMITATIONS:
        problems = problems + d.limitations_for(control)
        notes = ""
    else:
        notes = _notes(d, control)
    return Outcome(not problems, found, expected, ("; ".join(problems) or ok_message) + notes)


# ------------------------------------------------------------------------ registry


def _registry(facts: Mapping[str, Any]) -> dict[tuple[str, str], Mapping[str, Any]]:
    items = parse.as_list(section(facts, "registry"))
    return {(str(i["path"]).lower(), str(i["name"]).lower()): i for i in items}


_TYPE = {"dword": ("DWord",), "string": ("String", "ExpandString")}
#: How a found value compares with the desired one: "eq", "le_pos" (1..desired), "le".
_COMPARE = {"InactivityTimeoutSecs": "le_pos", "ScreenSaveTimeOut": "le_pos",
            "ScreenSaverGracePeriod": "le"}


def _as_int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _check_registry(facts: Mapping[str, Any], wanted: Iterable[RegistryValue]
                    ) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    reg = _registry(facts)
    found: dict[str, Any] = {}
    expected: dict[str, Any] = {}
    problems: list[str] = []
    for w in wanted:
        label = f"{w.path}\\{w.name}"
        item = reg.get((w.path.lower(), w.name.lower()))
        mode = _COMPARE.get(w.name, "eq")
        expected[label] = (f"{w.type} {w.data}" if mode == "eq"
                           else f"{w.type} 1..{w.data}" if mode == "le_pos"
                           else f"{w.type} 0..{w.data}")
        if item is None:
            raise FactsUnavailable(f"registry value {label} was not collected")
        if not item.get("exists"):
            found[label] = "absent"
            problems.append(f"{w.name} is not set")
            continue
        data = item.get("data")
        found[label] = f"{item.get('type')} {data}"
        if item.get("type") not in _TYPE[w.type]:
            problems.append(f"{w.name} has type {item.get('type')}, not {w.type}")
            continue
        if mode == "eq":
            ok = (_as_int(data) == w.data) if w.type == "dword" else (str(data) == str(w.data))
        else:
            n, limit = _as_int(data), int(w.data)
            ok = n is not None and (0 < n <= limit if mode == "le_pos" else 0 <= n <= limit)
        if not ok:
            problems.append(f"{w.name} is {data!r}, expected {expected[label]}")
    return found, expected, problems


def _registry_rule(control: str, ok_message: str) -> Rule:
    def rule(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
        d = _desired(variables)
        found, expected, problems = _check_registry(facts, d.registry_for(control))
        return _outcome(control, d, problems, found, expected, ok_message)

    rule.__doc__ = f"{control}: registry values of the desired state."
    return rule

def _users(facts: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(u["name"]).lower(): u for u in parse.as_list(section(facts, "local_users"))}
