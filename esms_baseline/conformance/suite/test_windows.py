"""Conformance tests of Windows hosts: one test per control, parametrized over the plan's
Windows hosts (test id = host name). Each test evaluates the host's collected facts (one run
of collectors/windows.ps1 over WinRM) with the control's rule in
esms_baseline/conformance/rules/windows/. Same ids, plugin and result model as Debian.
"""

from __future__ import annotations

from esms_baseline.conformance.model import CheckTarget
from esms_baseline.conformance.plugin import Verify

PLATFORM = "windows"


def test_ESMS_UPD_01(target: CheckTarget, verify: Verify) -> None:
    """ESMS-UPD-01: Automatic security updates."""
    verify(target, "ESMS-UPD-01")


def test_ESMS_UPD_02(target: CheckTarget, verify: Verify) -> None:
    """ESMS-UPD-02: Updates run inside the maintenance window."""
    verify(target, "ESMS-UPD-02")


def test_ESMS_UPD_03(target: CheckTarget, verify: Verify) -> None:
    """ESMS-UPD-03: Automatic reboot only inside the window."""
    verify(target, "ESMS-UPD-03")


def test_ESMS_FW_01(target: CheckTarget, verify: Verify) -> None:
    """ESMS-FW-01: Local firewall on, inbound denied by default."""
    verify(target, "ESMS-FW-01")


def test_ESMS_FW_02(target: CheckTarget, verify: Verify) -> None:
    """ESMS-FW-02: Only the declared services are open."""
    verify(target, "ESMS-FW-02")


def test_ESMS_FW_03(target: CheckTarget, verify: Verify) -> None:
    """ESMS-FW-03: Management access only from the MSP's sources."""
    verify(target, "ESMS-FW-03")


def test_ESMS_AV_01(target: CheckTarget, verify: Verify) -> None:
    """ESMS-AV-01: Antivirus installed and running."""
    verify(target, "ESMS-AV-01")


def test_ESMS_AV_02(target: CheckTarget, verify: Verify) -> None:
    """ESMS-AV-02: Antivirus signatures up to date."""
    verify(target, "ESMS-AV-02")


def test_ESMS_LOCK_04(target: CheckTarget, verify: Verify) -> None:
    """ESMS-LOCK-04: Automatic lock of the graphical session."""
    verify(target, "ESMS-LOCK-04")


def test_ESMS_PWD_01(target: CheckTarget, verify: Verify) -> None:
    """ESMS-PWD-01: Password strength (CNIL 2022)."""
    verify(target, "ESMS-PWD-01")


def test_ESMS_PWD_02(target: CheckTarget, verify: Verify) -> None:
    """ESMS-PWD-02: Lockout after repeated failures."""
    verify(target, "ESMS-PWD-02")


def test_ESMS_PWD_04(target: CheckTarget, verify: Verify) -> None:
    """ESMS-PWD-04: Password aging."""
    verify(target, "ESMS-PWD-04")


def test_ESMS_ACC_01(target: CheckTarget, verify: Verify) -> None:
    """ESMS-ACC-01: Declared individual accounts."""
    verify(target, "ESMS-ACC-01")


def test_ESMS_ACC_02(target: CheckTarget, verify: Verify) -> None:
    """ESMS-ACC-02: No generic shared login."""
    verify(target, "ESMS-ACC-02")


def test_ESMS_ACC_03(target: CheckTarget, verify: Verify) -> None:
    """ESMS-ACC-03: Departed users' accounts locked."""
    verify(target, "ESMS-ACC-03")


def test_ESMS_ACC_04(target: CheckTarget, verify: Verify) -> None:
    """ESMS-ACC-04: Administrator rights only for declared admins."""
    verify(target, "ESMS-ACC-04")


def test_ESMS_ACC_05(target: CheckTarget, verify: Verify) -> None:
    """ESMS-ACC-05: No account without a password."""
    verify(target, "ESMS-ACC-05")


def test_ESMS_BAN_01(target: CheckTarget, verify: Verify) -> None:
    """ESMS-BAN-01: Login banner showing the charter."""
    verify(target, "ESMS-BAN-01")


def test_ESMS_BAK_01(target: CheckTarget, verify: Verify) -> None:
    """ESMS-BAK-01: Backup scheduled to an off-site repository."""
    verify(target, "ESMS-BAK-01")


def test_ESMS_BAK_02(target: CheckTarget, verify: Verify) -> None:
    """ESMS-BAK-02: Recent off-site backup and a tested restore."""
    verify(target, "ESMS-BAK-02")
def test_ESMS_UPD_04(target: CheckTarget, verify: Verify) -> None:
    """ESMS-UPD-04: Operating system release still receives security updates."""
    verify(target, "ESMS-UPD-04")


def test_ESMS_PRV_01(target: CheckTarget, verify: Verify) -> None:
    """ESMS-PRV-01: Provider accounts individual and time-limited."""
    verify(target, "ESMS-PRV-01")


def test_ESMS_PRV_02(target: CheckTarget, verify: Verify) -> None:
    """ESMS-PRV-02: Remote-control software declared."""
    verify(target, "ESMS-PRV-02")


def test_ESMS_PRV_03(target: CheckTarget, verify: Verify) -> None:
    """ESMS-PRV-03: Remote access leaves a lasting trace."""
    verify(target, "ESMS-PRV-03")
