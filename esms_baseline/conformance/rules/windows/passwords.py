"""Windows password and lockout rules (PWD-01/02/04): secedit export of the effective policy."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from esms_baseline.conformance.model import Outcome
from esms_baseline.conformance.rules._util import section, var
from esms_baseline.conformance.rules.windows._common import (
    _as_int,
    _check_registry,
    _desired,
    _outcome,
    _users,
)
from esms_baseline.windows import parse
from esms_baseline.windows.desired import (
    RELAXED_LENGTH_MIN_BUILD,
)

# ------------------------------------------------------------------------ passwords


def _policy(facts: Mapping[str, Any]) -> tuple[dict[str, int | str], parse.AdsiPolicy | None,
                                                str]:
    """[System Access] of the merged (effective) secedit export, the ADSI account policy
    (numbers, any display language; it wins where both give a value) and the policy's
    source (domain|local). ``net accounts`` is not used: its labels are localised."""
    inf = parse.system_access(base64.b64decode(section(facts, "secedit_inf_b64")))
    adsi: parse.AdsiPolicy | None = None
    if facts.get("adsi_policy"):
        adsi = parse.parse_adsi_policy(facts["adsi_policy"])
    source = "domain" if section(facts, "os").get("part_of_domain") else "local"
    return inf, adsi, source


def _int_of(inf: Mapping[str, int | str], key: str) -> int | None:
    v = inf.get(key)
    return v if isinstance(v, int) else None


def _source_note(source: str) -> str:
    return (" [source: domain policy, the role leaves it alone: fix it in the domain's GPO]"
            if source == "domain" else "")


def pwd_01(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-PWD-01: minimum length and complexity in the effective policy."""
    d = _desired(variables)
    inf, adsi, source = _policy(facts)
    want = {s.key: s.value for s in d.secpol_for("ESMS-PWD-01")}
    length = _int_of(inf, "MinimumPasswordLength")
    eff_length = adsi.min_length if adsi and adsi.min_length is not None else length
    complexity = _int_of(inf, "PasswordComplexity")
    found: dict[str, Any] = {"MinimumPasswordLength": length, "PasswordComplexity": complexity,
                             "ADSI MinPasswordLength": adsi.min_length if adsi else None,
                             "source": source}
    expected: dict[str, Any] = {"MinimumPasswordLength": f">= {want['MinimumPasswordLength']}",
                                "PasswordComplexity": want["PasswordComplexity"]}
    problems = []
    if eff_length is None or eff_length < want["MinimumPasswordLength"]:
        problems.append(f"minimum length {eff_length} < {want['MinimumPasswordLength']}")
    if want["PasswordComplexity"] == 1 and complexity != 1:
        problems.append("password complexity is off")
    if d.min_build_for_password_length:
        build = section(facts, "os").get("build")
        relax, _, relax_problems = _check_registry(facts, d.registry_for("ESMS-PWD-01"))
        found.update(relax)
        found["build"] = build
        expected["build"] = f">= {RELAXED_LENGTH_MIN_BUILD}"
        problems += relax_problems
        if not isinstance(build, int) or build < RELAXED_LENGTH_MIN_BUILD:
            problems.append(f"Windows build {build} cannot require more than 14 characters")
    return _outcome("ESMS-PWD-01", d, [p + _source_note(source) for p in problems], found,
                    expected, "password strength enforced")


def pwd_02(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-PWD-02: LockoutBadCount, LockoutDuration, ResetLockoutCount."""
    d = _desired(variables)
    want = {s.key: s.value for s in d.secpol_for("ESMS-PWD-02")}
    threshold = want["LockoutBadCount"]
    if threshold == 0:
        return Outcome.not_applicable("no lockout in the profile (threshold 0, CNIL case 1)")
    inf, adsi, source = _policy(facts)
    bad = adsi.lockout_threshold if adsi else _int_of(inf, "LockoutBadCount")
    # secedit exports "until an administrator unlocks" as -1 (0 in the policy)
    duration = (adsi.lockout_duration_minutes if adsi
                else parse.lockout_duration_minutes(_int_of(inf, "LockoutDuration")))
    window = adsi.lockout_window_minutes if adsi else _int_of(inf, "ResetLockoutCount")
    found = {"LockoutBadCount": bad, "LockoutDuration (min)": duration,
             "ResetLockoutCount (min)": window, "source": source}
    expected = {"LockoutBadCount": f"1..{threshold}",
                "LockoutDuration (min)": f">= {want['LockoutDuration']} (or 0: until an admin "
                                         "unlocks)",
                "ResetLockoutCount (min)": f">= {want['ResetLockoutCount']}"}
    problems = []
    if bad is None or not 1 <= bad <= threshold:
        problems.append(f"lockout threshold {bad}, expected 1..{threshold}")
    if duration is None or (duration != 0 and duration < want["LockoutDuration"]):
        problems.append(f"lockout duration {duration} min < {want['LockoutDuration']}")
    if window is None or window < want["ResetLockoutCount"]:
        problems.append(f"observation window {window} min < {want['ResetLockoutCount']}")
    return _outcome("ESMS-PWD-02", d, [p + _source_note(source) for p in problems], found,
                    expected, "lockout enforced")



def pwd_04(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-PWD-04: machine-wide ages and history; each declared admin's password younger
    than the admin maximum age (or already expired)."""
    d = _desired(variables)
    want = {s.key: s.value for s in d.secpol_for("ESMS-PWD-04")}
    inf, adsi, source = _policy(facts)
    max_age = _int_of(inf, "MaximumPasswordAge")
    if adsi is not None:
        max_age = -1 if adsi.max_age_days is None else adsi.max_age_days
    min_age = _int_of(inf, "MinimumPasswordAge")
    history = _int_of(inf, "PasswordHistorySize")
    found: dict[str, Any] = {"MaximumPasswordAge": max_age, "MinimumPasswordAge": min_age,
                             "PasswordHistorySize": history, "source": source}
    w_max = want["MaximumPasswordAge"]
    expected: dict[str, Any] = {
        "MaximumPasswordAge": "-1 (never)" if w_max == -1 else f"1..{w_max}",
        "MinimumPasswordAge": f">= {want['MinimumPasswordAge']}",
        "PasswordHistorySize": f">= {want['PasswordHistorySize']}",
    }
    problems = []
    if w_max == -1 and max_age not in (-1, 0):
        problems.append(f"passwords expire after {max_age} days; the profile sets no expiry")
    if w_max > 0 and (max_age is None or not 1 <= max_age <= w_max):
        problems.append(f"maximum age {max_age}, expected 1..{w_max}")
    if min_age is None or min_age < want["MinimumPasswordAge"]:
        problems.append(f"minimum age {min_age} < {want['MinimumPasswordAge']}")
    if history is None or history < want["PasswordHistorySize"]:
        problems.append(f"history {history} < {want['PasswordHistorySize']}")
    problems = [p + _source_note(source) for p in problems]
    if d.admin_max_age_days:
        users = _users(facts)
        ages: dict[str, Any] = {}
        for login in var(variables, "esms_passwords_aged_admins", []):
            u = users.get(str(login).lower())
            if u is None:
                continue
            ages[login] = "expired" if u.get("password_expired") else u.get("password_age_days")
            if not u.get("password_expired") and (
                    _as_int(u.get("password_age_days")) or 0) > d.admin_max_age_days:
                problems.append(f"{login}: password {u.get('password_age_days')} days old > "
                                f"{d.admin_max_age_days}")
        found["admin password ages (days)"] = ages
        expected["admin password ages (days)"] = f"<= {d.admin_max_age_days} or expired"
    return _outcome("ESMS-PWD-04", d, problems, found, expected, "password aging enforced")
