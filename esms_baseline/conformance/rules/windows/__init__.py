"""Rules of the Windows controls: ``(facts, vars) -> Outcome``, like the Debian ones.

``facts`` is the JSON document of ``collectors/windows.ps1`` (raw Windows formats, parsed
here with ``esms_baseline.windows.parse``); the expected values come from
``esms_baseline.windows.desired.desired_state(vars)``, the same function that gives the roles
their ``esms_windows_desired``: the check and the apply cannot disagree on a value.

Stricter than asked passes (a shorter lock delay, a longer minimum length); weaker fails.
"""

from __future__ import annotations

from esms_baseline.conformance.rules.lifecycle import upd_04_windows
from esms_baseline.conformance.rules.windows._common import (
    ADMINISTRATORS_SID,
    BLOCKING_LIMITATIONS,
    CORE_NETWORKING_GROUP,
    Rule,
)
from esms_baseline.conformance.rules.windows.accounts import acc_01, acc_02, acc_03, acc_04, acc_05
from esms_baseline.conformance.rules.windows.antivirus import av_01, av_02
from esms_baseline.conformance.rules.windows.backup import bak_01, bak_02
from esms_baseline.conformance.rules.windows.firewall import exposures, fw_01, fw_02, fw_03
from esms_baseline.conformance.rules.windows.passwords import pwd_01, pwd_02, pwd_04
from esms_baseline.conformance.rules.windows.providers import prv_01, prv_02, prv_03
from esms_baseline.conformance.rules.windows.registry_policies import (
    ban_01,
    lock_04,
    upd_01,
    upd_02,
    upd_03,
)

#: control id -> rule, for ``esms_baseline.conformance.rules.RULES["windows"]``.
RULES: dict[str, Rule] = {
    "ESMS-UPD-01": upd_01,
    "ESMS-UPD-02": upd_02,
    "ESMS-UPD-03": upd_03,
    "ESMS-UPD-04": upd_04_windows,
    "ESMS-FW-01": fw_01,
    "ESMS-FW-02": fw_02,
    "ESMS-FW-03": fw_03,
    "ESMS-AV-01": av_01,
    "ESMS-AV-02": av_02,
    "ESMS-BAK-01": bak_01,
    "ESMS-BAK-02": bak_02,
    "ESMS-LOCK-04": lock_04,
    "ESMS-PWD-01": pwd_01,
    "ESMS-PWD-02": pwd_02,
    "ESMS-PWD-04": pwd_04,
    "ESMS-ACC-01": acc_01,
    "ESMS-ACC-02": acc_02,
    "ESMS-ACC-03": acc_03,
    "ESMS-ACC-04": acc_04,
    "ESMS-ACC-05": acc_05,
    "ESMS-BAN-01": ban_01,
    "ESMS-PRV-01": prv_01,
    "ESMS-PRV-02": prv_02,
    "ESMS-PRV-03": prv_03,
}


__all__ = [
    "ADMINISTRATORS_SID", "BLOCKING_LIMITATIONS", "CORE_NETWORKING_GROUP", "RULES", "Rule",
    "acc_01", "acc_02", "acc_03", "acc_04", "acc_05", "av_01", "av_02", "bak_01", "bak_02",
    "ban_01", "exposures",
    "fw_01", "fw_02", "fw_03", "lock_04", "prv_01", "prv_02", "prv_03", "pwd_01", "pwd_02",
    "pwd_04", "upd_01", "upd_02", "upd_03",
]
