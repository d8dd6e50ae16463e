"""Socle 5, accounts: ESMS-ACC-01..06 on Debian (ACC-04 and ACC-07 in accounts_admin.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from esms_baseline.conformance.model import Outcome
from esms_baseline.conformance.rules._util import (
    FactsUnavailable,
    section,
    unstated_in_sshd_config,
    var,
)
from esms_baseline.conformance.rules.accounts_admin import acc_04, acc_07, privileged_accounts

__all__ = ["acc_01", "acc_02", "acc_03", "acc_04", "acc_05", "acc_06", "acc_07",
           "privileged_accounts"]

_NO_LOGIN_SHELLS = ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false", "")


def _declared(variables: Mapping[str, Any], state: str) -> list[Mapping[str, Any]]:
    users = var(variables, "esms_accounts_users", [])
    return [u for u in users if u.get("state", "present") == state]


def acc_01(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-ACC-01: each declared present user exists with full name, groups, a login shell."""
    accounts = section(facts, "accounts")["users"]
    declared = _declared(variables, "present")
    wrong: dict[str, str] = {}
    for u in declared:
        login = str(u["login"])
        have = accounts.get(login)
        if have is None:
            wrong[login] = "missing"
            continue
        issues = []
        if u.get("full_name") and have["full_name"] != u["full_name"]:
            issues.append(f"full name {have['full_name']!r}")
        missing_groups = sorted(set(u.get("groups") or ()) - set(have["groups"]))
        if missing_groups:
            issues.append("not in " + ",".join(missing_groups))
        if have["shell"] in _NO_LOGIN_SHELLS:
            issues.append(f"shell {have['shell'] or '(none)'}")
        sh = have.get("shadow") or {}
        if sh.get("status") == "empty":
            issues.append("empty password")
        if issues:
            wrong[login] = "; ".join(issues)
    expected = (
        f"{len(declared)} declared account(s) present with their full name, groups and a "
        "login shell" if declared else "no individual account declared"
    )
    found = wrong or ("all present as declared" if declared else "nothing to check")
    msg = f"{len(wrong)} declared account(s) missing or different" if wrong else "as declared"
    return Outcome(not wrong, found, expected, msg)


def _unusable(user: Mapping[str, Any] | None, today_days: int) -> tuple[bool, str]:
    """(locked and expired?, what was found) for an account that must not be usable."""
    if user is None:
        return True, "absent"
    sh = user.get("shadow") or {}
    locked = bool(sh.get("locked"))
    expire = sh.get("expire_days")
    expired = expire is not None and expire <= today_days
    desc = ("locked" if locked else "password usable") + ", " + (
        "expired" if expired else "not expired")
    return locked and expired, desc


def _locked_expired(
    facts: Mapping[str, Any], logins: list[str], what: str
) -> tuple[bool, dict[str, str], str]:
    acc = section(facts, "accounts")
    today = int(acc["today_days"])
    found: dict[str, str] = {}
    bad = []
    for login in logins:
        ok, desc = _unusable(acc["users"].get(login), today)
        found[login] = desc
        if not ok:
            bad.append(login)
    msg = f"{what} still usable: {', '.join(bad)}" if bad else f"no usable {what}"
    return not bad, found, msg


def acc_02(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-ACC-02: forbidden generic logins, if they exist, are locked and expired."""
    logins = [str(x) for x in var(variables, "esms_accounts_forbidden_generic_logins", [])]
    ok, found, msg = _locked_expired(facts, logins, "generic login")
    expected = (f"{', '.join(logins)}: absent, or locked and expired" if logins
                else "no generic login declared")
    return Outcome(ok, found or "nothing to check", expected, msg)


def acc_03(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-ACC-03: departed users' accounts, if they exist, are locked and expired."""
    logins = [str(u["login"]) for u in _declared(variables, "departed")]
    ok, found, msg = _locked_expired(facts, logins, "departed account")
    expected = (f"{', '.join(logins)}: absent, or locked and expired" if logins
                else "no departed user declared")
    return Outcome(ok, found or "nothing to check", expected, msg)


def acc_05(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-ACC-05: no account opens with an empty password."""
    acc = section(facts, "accounts")
    if not acc.get("shadow_readable"):
        raise FactsUnavailable("/etc/shadow was not readable by the collector")
    empty = sorted(
        login for login, u in acc["users"].items()
        if u.get("passwd_field") == "empty" or (u.get("shadow") or {}).get("status") == "empty"
    )
    return Outcome(
        not empty,
        empty or "none",
        "no account with an empty password field",
        f"empty password: {', '.join(empty)}" if empty else "no empty password",
    )


def acc_06(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-ACC-06: sshd -T says permitrootlogin no."""
    if var(variables, "esms_accounts_permit_root_ssh", False):
        return Outcome.not_applicable("the profile allows root over SSH")
    value = section(facts, "sshd").get("permitrootlogin")
    problems = [] if value == "no" else [f"root may log in ({value})"]
    problems += unstated_in_sshd_config(facts, {"PermitRootLogin": "no"})
    return Outcome(
        not problems,
        f"PermitRootLogin {value}",
        "PermitRootLogin no (also stated in sshd_config)",
        "; ".join(problems) or "root cannot log in over SSH",
    )
