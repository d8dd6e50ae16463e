"""Windows account rules (ACC-01..05): local users and groups read through ADSI."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from esms_baseline.conformance.model import Outcome
from esms_baseline.conformance.rules._util import FactsUnavailable, section, var
from esms_baseline.conformance.rules.windows._common import (
    ADMINISTRATORS_SID,
    Rule,
    _check_registry,
    _desired,
    _users,
)
from esms_baseline.windows import parse

# ------------------------------------------------------------------------ accounts


def _groups(facts: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(g["sid"]): g for g in parse.as_list(section(facts, "local_groups"))}


def _member_logins(group: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(m["name"]).split("\\")[-1].lower(): m for m in parse.as_list(group.get("members"))}


def _managed(variables: Mapping[str, Any], state: str) -> list[Mapping[str, Any]]:
    mgmt = str(var(variables, "esms_management_user"))
    return [u for u in var(variables, "esms_accounts_users", [])
            if u.get("state", "present") == state and u["login"] != mgmt]


def acc_01(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-ACC-01: declared users exist with full name and groups, password expiry on."""
    users = _users(facts)
    by_name = {str(g["name"]).lower(): g for g in parse.as_list(section(facts, "local_groups"))}
    found: dict[str, Any] = {}
    expected: dict[str, Any] = {}
    problems = []
    for u in _managed(variables, "present"):
        login = str(u["login"])
        want_groups = sorted(str(g) for g in u.get("groups") or [])
        expected[login] = {"full_name": u.get("full_name"), "groups": want_groups,
                           "password_never_expires": False}
        have = users.get(login.lower())
        if have is None:
            found[login] = "absent"
            problems.append(f"{login} does not exist")
            continue
        in_groups = sorted(g for g in want_groups
                           if login.lower() in _member_logins(by_name.get(g.lower(), {})))
        found[login] = {"full_name": have.get("full_name"), "groups": in_groups,
                        "password_never_expires": have.get("password_never_expires")}
        if have.get("full_name") != u.get("full_name"):
            problems.append(f"{login}: full name {have.get('full_name')!r}")
        missing = sorted(set(want_groups) - set(in_groups))
        if missing:
            problems.append(f"{login}: not in {', '.join(missing)}")
        if have.get("password_never_expires"):
            problems.append(f"{login}: password never expires")
    return Outcome(not problems, found, expected, "; ".join(problems) or "declared users present")


def _disabled_rule(control: str, what: str) -> Rule:
    def rule(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
        users = _users(facts)
        if control == "ESMS-ACC-02":
            logins = [str(x) for x in var(variables, "esms_accounts_forbidden_generic_logins", [])]
        else:
            logins = [str(u["login"]) for u in _managed(variables, "departed")]
        found = {}
        problems = []
        for login in logins:
            u = users.get(login.lower())
            found[login] = "absent" if u is None else ("disabled" if u.get("disabled")
                                                       else "enabled")
            if u is not None and not u.get("disabled"):
                problems.append(f"{what} {login} is enabled")
        return Outcome(not problems, found, {x: "absent or disabled" for x in logins},
                       "; ".join(problems) or f"no usable {what}")

    rule.__doc__ = f"{control}: {what}s are absent or disabled."
    return rule


acc_02 = _disabled_rule("ESMS-ACC-02", "generic login")
acc_03 = _disabled_rule("ESMS-ACC-03", "departed user")


def acc_04(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-ACC-04: the Administrators group holds the declared admins and the management
    account; also kept: the built-in Administrator (Windows refuses to remove it), the account
    the check connects with, Domain Admins on a domain member."""
    d = _desired(variables)
    group = _groups(facts).get(ADMINISTRATORS_SID)
    if group is None:
        raise FactsUnavailable("the Administrators group (S-1-5-32-544) was not collected")
    os_ = section(facts, "os")
    members = parse.as_list(group.get("members"))
    allowed = {a.lower() for a in d.administrators}
    conn = str(os_.get("connection_user") or "").split("\\")[-1].lower()
    extra, kept = [], []
    for m in members:
        login = str(m["name"]).split("\\")[-1].lower()
        sid = str(m.get("sid") or "")
        if login in allowed:
            continue
        if sid.endswith("-500") or login == conn or (
                os_.get("part_of_domain") and sid.endswith("-512")):
            kept.append(str(m["name"]))
            continue
        extra.append(str(m["name"]))
    present = {str(m["name"]).split("\\")[-1].lower() for m in members}
    users = _users(facts)
    missing = [a for a in d.administrators if a.lower() not in present and a.lower() in users]
    found = {"members": sorted(str(m["name"]) for m in members), "kept (built-in)": sorted(kept)}
    expected = {"members": sorted(d.administrators),
                "also kept": "built-in Administrator, the connecting account, Domain Admins"}
    problems = []
    if extra:
        problems.append("undeclared administrators: " + ", ".join(sorted(extra)))
    if missing:
        problems.append("declared admins not in Administrators: " + ", ".join(missing))
    return Outcome(not problems, found, expected, "; ".join(problems) or "admin rights limited")


def acc_05(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-ACC-05: Guest disabled, no enabled account without a required password, blank
    passwords limited to the console (LimitBlankPasswordUse=1)."""
    d = _desired(variables)
    found, expected, problems = _check_registry(facts, d.registry_for("ESMS-ACC-05"))
    users = parse.as_list(section(facts, "local_users"))
    guest = [u for u in users if str(u.get("sid", "")).endswith("-501")]
    found["Guest"] = ("disabled" if guest[0].get("disabled") else "enabled") if guest else "absent"
    expected["Guest"] = "disabled"
    if guest and not guest[0].get("disabled"):
        problems.append(f"the Guest account ({guest[0]['name']}) is enabled")
    no_pw = sorted(str(u["name"]) for u in users
                   if not u.get("disabled") and u.get("password_not_required"))
    found["enabled accounts without a required password"] = no_pw
    expected["enabled accounts without a required password"] = []
    if no_pw:
        problems.append("password not required for " + ", ".join(no_pw))
    return Outcome(not problems, found, expected, "; ".join(problems) or "every account needs a "
                                                                         "password")
