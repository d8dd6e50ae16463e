"""The variables ``esms_baseline.plan.host_vars`` does not pass yet and the Windows side needs.

To be folded into ``plan.host_vars`` by the plan's owner (docs/windows.md, "What the plan
must add"); until then the tests and the Windows integration test add them with
:func:`contract_additions` and :func:`windows_additions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from esms_baseline.profile import SiteProfile
from esms_baseline.windows.desired import render_desired_state


def contract_additions(profile: SiteProfile, host: str) -> dict[str, Any]:
    """Contract variables of the two new roles and two role-only defaults (every platform)."""
    s = profile.settings_for(host)
    banner = profile.banner
    return {
        # esms_antivirus (ESMS-AV-01/02)
        "esms_antivirus_scan": s.antivirus.scan,
        "esms_antivirus_max_signature_age_days": s.antivirus.max_signature_age_days,
        # esms_banner (ESMS-BAN-01)
        "esms_banner_text": banner.text if banner else "",
        "esms_banner_charter_version": banner.charter_version if banner else "",
        # role defaults the plan may pass explicitly
        "esms_passwords_min_age_days": 1,
        "esms_passwords_windows_history_size": 5,
        "esms_firewall_windows_allow_rdp": False,
        "esms_firewall_windows_disable_other_rules": True,
    }


def windows_additions(host_vars: Mapping[str, Any]) -> dict[str, Any]:
    """``esms_windows_desired`` for a Windows host (after the contract additions)."""
    return {"esms_windows_desired": render_desired_state(host_vars)}
