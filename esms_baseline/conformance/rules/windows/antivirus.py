"""Microsoft Defender rules (AV-01/02)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from esms_baseline.conformance.model import Outcome
from esms_baseline.conformance.rules._util import section
from esms_baseline.conformance.rules.windows._common import (
    _as_int,
    _desired,
    _outcome,
    _registry,
)
from esms_baseline.windows import parse

# ------------------------------------------------------------------------ antivirus


def _now(facts: Mapping[str, Any]) -> _dt.datetime:
    at = parse.parse_ps_datetime(facts.get("collected_at"))
    return at or _dt.datetime.now(_dt.UTC)


def av_01(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-AV-01: Microsoft Defender running in normal mode with real-time protection."""
    d = _desired(variables)
    st = parse.parse_mp_status(section(facts, "defender_json"))
    reg = _registry(facts)
    policy = reg.get((r"hklm:\software\policies\microsoft\windows defender\real-time protection",
                      "disablerealtimemonitoring"), {})
    found = {"AMServiceEnabled": st.am_service_enabled, "AntivirusEnabled": st.antivirus_enabled,
             "RealTimeProtectionEnabled": st.realtime_enabled, "AMRunningMode": st.running_mode,
             "policy DisableRealtimeMonitoring": policy.get("data") if policy.get("exists")
             else "not set"}
    expected = {"AMServiceEnabled": True, "AntivirusEnabled": True,
                "RealTimeProtectionEnabled": True, "AMRunningMode": "Normal"}
    problems = []
    if not (st.am_service_enabled and st.antivirus_enabled):
        problems.append("Microsoft Defender Antivirus is not running")
    if st.running_mode and st.running_mode != "Normal":
        problems.append(f"Defender runs in {st.running_mode} (another antivirus registered?)")
    if not st.realtime_enabled:
        problems.append("real-time protection is off")
    if policy.get("exists") and _as_int(policy.get("data")) == 1:
        problems.append("a policy turns real-time protection off")
    return _outcome("ESMS-AV-01", d, problems, found, expected, "Defender real-time protection on")


def av_02(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-AV-02: signatures younger than the maximum age (stale is a failure)."""
    d = _desired(variables)
    st = parse.parse_mp_status(section(facts, "defender_json"))
    limit_h = d.antivirus_max_signature_age_days * 24
    age_h = st.signature_age_hours(_now(facts))
    found = {"AntivirusSignatureLastUpdated": st.signature_last_updated.isoformat()
             if st.signature_last_updated else None,
             "age (hours)": round(age_h, 1) if age_h is not None else None,
             "AntivirusSignatureVersion": st.signature_version}
    expected = {"age (hours)": f"<= {limit_h} ({d.antivirus_max_signature_age_days} days)"}
    if age_h is None:
        return Outcome(False, found, expected, "signatures never updated")
    ok = age_h <= limit_h
    return Outcome(ok, found, expected,
                   f"signatures {age_h / 24:.1f} days old" + ("" if ok else
                                                               f" > {d.antivirus_max_signature_age_days}"))
