"""Evaluation rules: pure functions ``(facts, vars) -> Outcome``, one per control and platform.

``facts`` is the JSON document of the platform's collector; ``vars`` the role variables the
plan gives the host (docs/architecture.md). Rules never touch a host.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from esms_baseline.conformance.model import Outcome
from esms_baseline.conformance.rules import (
    accounts,
    accounts_admin,
    antivirus,
    backup,
    banner,
    firewall,
    lifecycle,
    passwords,
    providers,
    session_lock,
    updates,
)
from esms_baseline.conformance.rules._util import FactsUnavailable, VariableMissing

Rule = Callable[[Mapping[str, Any], Mapping[str, Any]], Outcome]

#: platform -> control id -> rule
RULES: dict[str, dict[str, Rule]] = {
    "debian": {
        "ESMS-UPD-01": updates.upd_01,
        "ESMS-UPD-02": updates.upd_02,
        "ESMS-UPD-03": updates.upd_03,
        "ESMS-AV-01": antivirus.av_01,
        "ESMS-AV-02": antivirus.av_02,
        "ESMS-BAK-01": backup.bak_01,
        "ESMS-BAK-02": backup.bak_02,
        "ESMS-FW-01": firewall.fw_01,
        "ESMS-FW-02": firewall.fw_02,
        "ESMS-FW-03": firewall.fw_03,
        "ESMS-LOCK-01": session_lock.lock_01,
        "ESMS-LOCK-02": session_lock.lock_02,
        "ESMS-LOCK-03": session_lock.lock_03,
        "ESMS-LOCK-04": session_lock.lock_04,
        "ESMS-PWD-01": passwords.pwd_01,
        "ESMS-PWD-02": passwords.pwd_02,
        "ESMS-PWD-03": passwords.pwd_03,
        "ESMS-PWD-04": passwords.pwd_04,
        "ESMS-ACC-01": accounts.acc_01,
        "ESMS-ACC-02": accounts.acc_02,
        "ESMS-ACC-03": accounts.acc_03,
        "ESMS-ACC-04": accounts_admin.acc_04,
        "ESMS-ACC-05": accounts.acc_05,
        "ESMS-ACC-06": accounts.acc_06,
        "ESMS-ACC-07": accounts_admin.acc_07,
        "ESMS-BAN-01": banner.ban_01,
        "ESMS-UPD-04": lifecycle.upd_04_debian,
        "ESMS-PRV-01": providers.prv_01,
        "ESMS-PRV-02": providers.prv_02,
        "ESMS-PRV-03": providers.prv_03,
    },
}


def _windows_rules() -> dict[str, Rule]:
    from esms_baseline.conformance.rules import windows

    return dict(windows.RULES)


RULES["windows"] = _windows_rules()


def evaluate(platform: str, control_id: str, facts: Mapping[str, Any],
             variables: Mapping[str, Any]) -> Outcome:
    return RULES[platform][control_id](facts, variables)


__all__ = ["RULES", "FactsUnavailable", "Outcome", "Rule", "VariableMissing", "evaluate"]
