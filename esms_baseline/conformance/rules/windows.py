"""Rules of the Windows controls: ``(facts, vars) -> Outcome``, like the Debian ones.

``facts`` is the JSON document of ``collectors/windows.ps1`` (raw Windows formats, parsed
here with ``esms_baseline.windows.parse``); the expected values come from
``esms_baseline.windows.desired.desired_state(vars)``, the same function that gives the roles
their ``esms_windows_desired``: the check and the apply cannot disagree on a value.

Stricter than asked passes (a shorter lock delay, a longer minimum length); weaker fails.
"""

from __future__ import annotations

import base64
import datetime as _dt
import ipaddress
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from esms_baseline.conformance.model import Outcome
from esms_baseline.conformance.rules._util import FactsUnavailable, section, var
from esms_baseline.conformance.rules.lifecycle import upd_04_windows
from esms_baseline.windows import parse
from esms_baseline.windows.desired import (
    RELAXED_LENGTH_MIN_BUILD,
    RULE_PREFIX,
    FirewallRule,
    RegistryValue,
    WindowsDesiredState,
    desired_state,
)

ADMINISTRATORS_SID = "S-1-5-32-544"
#: "Core Networking" rules (DHCP, ICMPv6, IPHTTPS...) stay enabled: the host needs them.
CORE_NETWORKING_GROUP = "@firewallapi.dll,-25000"
#: Limitations that make the control fail (the others are notes in the message).
BLOCKING_LIMITATIONS = frozenset({"ESMS-PWD-01"})
_LOOPBACK = ("127.", "::1")

Rule = Callable[[Mapping[str, Any], Mapping[str, Any]], Outcome]


def _desired(variables: Mapping[str, Any]) -> WindowsDesiredState:
    return desired_state(variables)


def _notes(d: WindowsDesiredState, control: str) -> str:
    lims = d.limitations_for(control)
    return (" (Windows: " + "; ".join(lims) + ")") if lims else ""


def _outcome(control: str, d: WindowsDesiredState, problems: list[str], found: Any,
             expected: Any, ok_message: str) -> Outcome:
    if control in BLOCKING_LIMITATIONS:
        problems = problems + d.limitations_for(control)
        notes = ""
    else:
        notes = _notes(d, control)
    return Outcome(not problems, found, expected, ("; ".join(problems) or ok_message) + notes)


# ------------------------------------------------------------------------ registry


def _registry(facts: Mapping[str, Any]) -> dict[tuple[str, str], Mapping[str, Any]]:
    items = parse.as_list(section(facts, "registry"))
    return {(str(i["path"]).lower(), str(i["name"]).lower()): i for i in items}


_TYPE = {"dword": ("DWord",), "string": ("String", "ExpandString")}
#: How a found value compares with the desired one: "eq", "le_pos" (1..desired), "le".
_COMPARE = {"InactivityTimeoutSecs": "le_pos", "ScreenSaveTimeOut": "le_pos",
            "ScreenSaverGracePeriod": "le"}


def _as_int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _check_registry(facts: Mapping[str, Any], wanted: Iterable[RegistryValue]
                    ) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    reg = _registry(facts)
    found: dict[str, Any] = {}
    expected: dict[str, Any] = {}
    problems: list[str] = []
    for w in wanted:
        label = f"{w.path}\\{w.name}"
        item = reg.get((w.path.lower(), w.name.lower()))
        mode = _COMPARE.get(w.name, "eq")
        expected[label] = (f"{w.type} {w.data}" if mode == "eq"
                           else f"{w.type} 1..{w.data}" if mode == "le_pos"
                           else f"{w.type} 0..{w.data}")
        if item is None:
            raise FactsUnavailable(f"registry value {label} was not collected")
        if not item.get("exists"):
            found[label] = "absent"
            problems.append(f"{w.name} is not set")
            continue
        data = item.get("data")
        found[label] = f"{item.get('type')} {data}"
        if item.get("type") not in _TYPE[w.type]:
            problems.append(f"{w.name} has type {item.get('type')}, not {w.type}")
            continue
        if mode == "eq":
            ok = (_as_int(data) == w.data) if w.type == "dword" else (str(data) == str(w.data))
        else:
            n, limit = _as_int(data), int(w.data)
            ok = n is not None and (0 < n <= limit if mode == "le_pos" else 0 <= n <= limit)
        if not ok:
            problems.append(f"{w.name} is {data!r}, expected {expected[label]}")
    return found, expected, problems


def _registry_rule(control: str, ok_message: str) -> Rule:
    def rule(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
        d = _desired(variables)
        found, expected, problems = _check_registry(facts, d.registry_for(control))
        return _outcome(control, d, problems, found, expected, ok_message)

    rule.__doc__ = f"{control}: registry values of the desired state."
    return rule


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


# ------------------------------------------------------------------------ passwords


def _policy(facts: Mapping[str, Any]) -> tuple[dict[str, int | str], parse.NetAccounts | None,
                                                str]:
    """[System Access] (secedit), net accounts, and the policy's source (domain|local)."""
    inf = parse.system_access(base64.b64decode(section(facts, "secedit_inf_b64")))
    net: parse.NetAccounts | None = None
    if facts.get("net_accounts"):
        net = parse.parse_net_accounts(facts["net_accounts"])
    source = "domain" if section(facts, "os").get("part_of_domain") else "local"
    return inf, net, source


def _int_of(inf: Mapping[str, int | str], key: str) -> int | None:
    v = inf.get(key)
    return v if isinstance(v, int) else None


def _source_note(source: str) -> str:
    return (" [source: domain policy, the role leaves it alone: fix it in the domain's GPO]"
            if source == "domain" else "")


def pwd_01(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-PWD-01: minimum length and complexity in the effective policy."""
    d = _desired(variables)
    inf, net, source = _policy(facts)
    want = {s.key: s.value for s in d.secpol_for("ESMS-PWD-01")}
    length = _int_of(inf, "MinimumPasswordLength")
    eff_length = net.min_length if net and net.min_length is not None else length
    complexity = _int_of(inf, "PasswordComplexity")
    found: dict[str, Any] = {"MinimumPasswordLength": length, "PasswordComplexity": complexity,
                             "net accounts minimum length": net.min_length if net else None,
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
    inf, net, source = _policy(facts)
    bad = net.lockout_threshold if net else _int_of(inf, "LockoutBadCount")
    duration = net.lockout_duration_minutes if net else _int_of(inf, "LockoutDuration")
    window = net.lockout_window_minutes if net else _int_of(inf, "ResetLockoutCount")
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


def _users(facts: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(u["name"]).lower(): u for u in parse.as_list(section(facts, "local_users"))}


def pwd_04(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-PWD-04: machine-wide ages and history; each declared admin's password younger
    than the admin maximum age (or already expired)."""
    d = _desired(variables)
    want = {s.key: s.value for s in d.secpol_for("ESMS-PWD-04")}
    inf, net, source = _policy(facts)
    max_age = _int_of(inf, "MaximumPasswordAge")
    if net is not None:
        max_age = -1 if net.max_age_days is None else net.max_age_days
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


# ------------------------------------------------------------------------ firewall


def fw_01(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-FW-01: Domain, Private and Public profiles on, inbound blocked (active store)."""
    d = _desired(variables)
    profiles = parse.parse_firewall_profiles(section(facts, "firewall_profiles_json"))
    found = {n: {"enabled": p.enabled, "inbound": p.inbound} for n, p in profiles.items()}
    expected = {n: {"enabled": "True", "inbound": "Block"} for n in d.firewall_profiles}
    problems = []
    for n in d.firewall_profiles:
        p = profiles.get(n)
        if p is None:
            problems.append(f"profile {n} not reported")
            continue
        if p.enabled != "True":
            problems.append(f"{n} profile is {p.enabled}")
        if p.inbound != "Block":
            problems.append(f"{n} profile inbound default is {p.inbound}")
    return Outcome(not problems, found, expected, "; ".join(problems) or "firewall on, inbound "
                                                                         "blocked")


def _rules(facts: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [r for r in parse.as_list(section(facts, "firewall_rules")) if isinstance(r, Mapping)]


def _check_esms_rules(rules: list[Mapping[str, Any]], wanted: list[FirewallRule]
                      ) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    for r in rules:
        by_name.setdefault(str(r.get("display_name") or r.get("name")), []).append(r)
    found: dict[str, Any] = {}
    expected: dict[str, Any] = {}
    problems = []
    for w in wanted:
        want_remote = None if not w.remote_addresses else parse.parse_addresses(
            list(w.remote_addresses))
        expected[w.name] = f"{w.protocol}/{w.port} from {', '.join(w.remote)}"
        got = by_name.get(w.name, [])
        if not got:
            found[w.name] = "absent or disabled"
            problems.append(f"no enabled rule {w.name!r}")
            continue
        r = got[0]
        remote = parse.parse_addresses(r.get("remote_address"))
        proto = parse.parse_protocol(r.get("protocol"))
        ports = parse.parse_ports(r.get("local_port"))
        found[w.name] = (f"{proto}/{','.join(str(p) for p in sorted(ports or ())) or 'any'} "
                         f"from {', '.join(remote) if remote else 'Any'}")
        if proto != w.protocol or ports != frozenset({w.port}) or remote != want_remote:
            problems.append(f"rule {w.name!r} is {found[w.name]}")
        if len(got) > 1:
            problems.append(f"{len(got)} rules named {w.name!r}")
    return found, expected, problems


def _listening(facts: Mapping[str, Any]) -> list[tuple[str, int, str | None]]:
    out = []
    for s in parse.as_list(section(facts, "listening")):
        addr = str(s.get("address") or "")
        if addr.startswith(_LOOPBACK):
            continue
        out.append((str(s["protocol"]), int(s["port"]), s.get("process")))
    return sorted(set(out), key=lambda x: (x[0], x[1], x[2] or ""))


def exposures(facts: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Listening (non-loopback) ports that an enabled inbound allow rule NOT owned by the
    baseline (and not Core Networking) lets in: ``{rule, protocol, port, remote}``."""
    out = []
    listening = _listening(facts)
    for r in _rules(facts):
        name = str(r.get("display_name") or r.get("name"))
        if name.startswith(RULE_PREFIX) or str(r.get("group") or "").lower() == \
                CORE_NETWORKING_GROUP:
            continue
        proto = parse.parse_protocol(r.get("protocol"))
        ports = parse.parse_ports(r.get("local_port"))
        program = str(r.get("program") or "").lower() or None
        for lp, port, process in listening:
            if proto not in ("any", lp) or (ports is not None and port not in ports):
                continue
            if program and (process or "").lower() != program:
                continue
            remote = parse.parse_addresses(r.get("remote_address"))
            out.append({"rule": name, "protocol": lp, "port": port,
                        "remote": list(remote) if remote else ["Any"]})
    return out


def _management_ports(d: WindowsDesiredState) -> set[int]:
    return {r.port for r in d.rules_for("ESMS-FW-03")}


def fw_02(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-FW-02: one ``ESMS <service>`` rule per declared service, no stale ESMS rule, and
    no listening port let in by any other rule (management ports: ESMS-FW-03)."""
    d = _desired(variables)
    rules = _rules(facts)
    found, expected, problems = _check_esms_rules(rules, d.rules_for("ESMS-FW-02"))
    known = {r.name for r in d.firewall_rules}
    stale = sorted({str(r.get("display_name")) for r in rules
                    if str(r.get("display_name") or "").startswith(RULE_PREFIX)
                    and str(r.get("display_name")) not in known})
    if stale:
        problems.append("ESMS rules no longer in the profile: " + ", ".join(stale))
    mgmt = _management_ports(d)
    open_ = [e for e in exposures(facts) if e["port"] not in mgmt]
    found["opened by other rules"] = [f"{e['protocol']}/{e['port']} by {e['rule']!r}"
                                      for e in open_]
    expected["opened by other rules"] = []
    if open_:
        problems.append("listening ports opened by rules outside the profile: " + ", ".join(
            sorted({f"{e['protocol']}/{e['port']}" for e in open_})))
    return Outcome(not problems, found, expected, "; ".join(problems) or "only declared "
                                                                         "services open")


def _within(remote: list[str], sources: Iterable[str]) -> bool:
    nets = [ipaddress.ip_network(s, strict=False) for s in sources]
    for r in remote:
        try:
            n = ipaddress.ip_network(r, strict=False)
        except ValueError:
            return False
        if not any(n.version == s.version and n.subnet_of(s) for s in nets):  # type: ignore[arg-type]
            return False
    return True


def fw_03(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-FW-03: ``ESMS management <port>/tcp`` rules from the MSP's sources only, and no
    other rule letting a management port in from elsewhere."""
    d = _desired(variables)
    found, expected, problems = _check_esms_rules(_rules(facts), d.rules_for("ESMS-FW-03"))
    sources = [str(s) for s in var(variables, "esms_firewall_management_sources")]
    mgmt = _management_ports(d)
    wide = [e for e in exposures(facts)
            if e["port"] in mgmt and not _within(e["remote"], sources)]
    found["management ports opened by other rules"] = [
        f"{e['protocol']}/{e['port']} by {e['rule']!r} from {', '.join(e['remote'])}"
        for e in wide]
    expected["management ports opened by other rules"] = []
    if wide:
        problems.append("management ports open beyond the MSP's sources: " + ", ".join(
            sorted({f"{e['protocol']}/{e['port']}" for e in wide})))
    return Outcome(not problems, found, expected, "; ".join(problems) or "management access "
                                                                         "limited to the MSP")


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
}
