"""Windows rules read from registry policies: session lock (LOCK-04), updates (UPD-01..03), banner (BAN-01)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from esms_baseline.conformance.model import Outcome
from esms_baseline.conformance.rules._util import FactsUnavailable, section
from esms_baseline.conformance.rules.windows._common import (
    _as_int,
    _check_registry,
    _desired,
    _outcome,
    _registry_rule,
)
from esms_baseline.windows import parse


def lock_04(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-LOCK-04: the machine inactivity limit (InactivityTimeoutSecs, HKLM: a computer
    policy, the lock itself) and grace period; the secure screen saver, a USER policy, in
    HKU\\.DEFAULT and every loaded user hive. A copy under HKLM\\SOFTWARE\\Policies is not
    collected and never counts: Windows does not read it there."""
    d = _desired(variables)
    found, expected, problems = _check_registry(facts, d.registry_for("ESMS-LOCK-04"))
    wanted = d.user_registry_for("ESMS-LOCK-04")
    if wanted:
        up = section(facts, "user_policies")
        by_hive: dict[str, dict[str, Mapping[str, Any]]] = {}
        for item in parse.as_list(up.get("values")):
            by_hive.setdefault(str(item["hive"]), {})[str(item["name"]).lower()] = item
        if ".DEFAULT" not in by_hive:
            raise FactsUnavailable("the user policies of HKU\\.DEFAULT were not collected")
        for hive, values in sorted(by_hive.items()):
            for w in wanted:
                label = f"HKU\\{hive}\\{w.subkey}\\{w.name}"
                limited = w.name == "ScreenSaveTimeOut"
                expected[label] = f"{w.type} 1..{w.data}" if limited else f"{w.type} {w.data}"
                item = values.get(w.name.lower())
                if item is None or not item.get("exists"):
                    found[label] = "absent"
                    problems.append(f"{w.name} is not set in the hive {hive}")
                    continue
                data = item.get("data")
                found[label] = f"{item.get('type')} {data}"
                n = _as_int(data)
                ok = (n is not None and 0 < n <= int(w.data)) if limited else str(data) == w.data
                if not ok:
                    problems.append(f"{w.name} is {data!r} in the hive {hive}, expected "
                                    f"{expected[label]}")
        not_loaded = up.get("profiles_not_loaded")
        if not_loaded:
            found["user profiles not loaded (not read)"] = not_loaded
    return _outcome("ESMS-LOCK-04", d, problems, found, expected,
                    "the session locks after the idle time")


upd_02 = _registry_rule("ESMS-UPD-02", "installation scheduled in the window")
upd_03 = _registry_rule("ESMS-UPD-03", "restarts follow the profile")


def upd_01(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-UPD-01: automatic download and install policy, Windows Update not disabled; the
    date of the last installed update is reported."""
    d = _desired(variables)
    found, expected, problems = _check_registry(facts, d.registry_for("ESMS-UPD-01"))
    up = section(facts, "updates")
    start = up.get("wuauserv_start_type")
    found["wuauserv"] = start
    expected["wuauserv"] = "not Disabled"
    if start == "Disabled":
        problems.append("the Windows Update service is disabled")
    last = up.get("last_installed") or {}
    hotfix = up.get("last_hotfix") or {}
    found["last installed update"] = (
        f"{last.get('date')} {last.get('title')}" if last.get("date")
        else f"{hotfix.get('installed_on')} {hotfix.get('id')}" if hotfix.get("installed_on")
        else "none recorded")
    return _outcome("ESMS-UPD-01", d, problems, found, expected, "automatic updates on")


def ban_01(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-BAN-01: legal notice caption and text before logon."""
    d = _desired(variables)
    wanted = d.registry_for("ESMS-BAN-01")
    if not wanted:
        return Outcome.not_applicable("the profile declares no banner")
    found, expected, problems = _check_registry(facts, wanted)
    return _outcome("ESMS-BAN-01", d, problems, found, expected, "the charter is shown at logon")
