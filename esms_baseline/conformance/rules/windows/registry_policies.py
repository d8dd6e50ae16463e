"""Windows rules read from registry policies: session lock (LOCK-04), updates (UPD-01..03), banner (BAN-01)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from esms_baseline.conformance.model import Outcome
from esms_baseline.conformance.rules._util import section
from esms_baseline.conformance.rules.windows._common import (
    _check_registry,
    _desired,
    _outcome,
    _registry_rule,
)

lock_04 = _registry_rule("ESMS-LOCK-04", "the session locks after the idle time")
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
