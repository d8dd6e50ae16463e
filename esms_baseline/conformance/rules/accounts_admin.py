"""Socle 5, who may administer and who may log in: ESMS-ACC-04 and ESMS-ACC-07 on Debian.

ESMS-ACC-04 takes sudo's own answer (``sudo -l -U <login>`` for every account, collected by
``collectors/debian_sudo.py``) as the authority on who has sudo rights, and the parsed
sudoers files (``#uid``, ``%#gid``, ``User_Alias``, every ``@include``/``@includedir``) as
the explanation shown in the report. Facts recorded by an older collector (no ``sudo``
section) fall back on the parse alone. An unreadable sudoers file, or a ``sudo -l`` that
fails, is an error verdict, never a pass.

Conditions only a person may resolve (an account other than root with UID 0, a rule of
/etc/sudoers itself or of a file outside /etc/sudoers.d, an undeclared interactive account)
are failures whose message starts with :data:`~esms_baseline.results.MANUAL_ACTION`; the
report shows them as "action manuelle requise".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from esms_baseline.conformance.model import Outcome
from esms_baseline.conformance.rules._util import FactsUnavailable, as_int, section, var
from esms_baseline.results import MANUAL_ACTION

SUDOERS_D = "/etc/sudoers.d/"
_NO_LOGIN_SHELLS = ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false", "")


def _resolve(token: str, aliases: Mapping[str, list[str]], uids: Mapping[int, str],
             gids: Mapping[int, str], depth: int = 0) -> tuple[set[str], set[str]]:
    """(users, groups) named by one user-list token (``!x`` grants nothing)."""
    if token.startswith(("!", "%:", "+")):
        return set(), set()
    if token.startswith("%#") and token[2:].isdigit():
        return set(), {gids.get(int(token[2:]), token)}
    if token.startswith("%"):
        return set(), {token[1:]}
    if token.startswith("#") and token[1:].isdigit():
        return {uids.get(int(token[1:]), token)}, set()
    if token in aliases and depth < 16:
        users: set[str] = set()
        groups: set[str] = set()
        for m in aliases[token]:
            u, g = _resolve(m, aliases, uids, gids, depth + 1)
            users |= u
            groups |= g
        return users, groups
    return {token}, set()


def _parsed_grants(facts: Mapping[str, Any]) -> list[tuple[str, set[str], set[str]]]:
    """(where, users, groups) of each sudoers rule, from the parsed files."""
    acc = section(facts, "accounts")
    sudoers = section(facts, "sudoers")
    unreadable = sudoers.get("unreadable") or {}
    if unreadable:
        raise FactsUnavailable("sudoers source(s) not readable by the collector: "
                               + ", ".join(sorted(unreadable)))
    uids = {u["uid"]: login for login, u in acc["users"].items() if u.get("uid") is not None}
    gids = {g["gid"]: name for name, g in acc["groups"].items() if g.get("gid") is not None}
    aliases: dict[str, list[str]] = dict(sudoers.get("user_aliases") or {})
    for line in sudoers.get("aliases") or []:  # older facts: raw User_Alias lines
        if line.startswith("User_Alias"):
            for part in line[len("User_Alias"):].split(":"):
                name, _, members = part.partition("=")
                aliases[name.strip()] = [m.strip() for m in members.split(",") if m.strip()]
    grants: list[tuple[str, set[str], set[str]]] = []
    if "rules" in sudoers:
        for r in sudoers["rules"]:
            users: set[str] = set()
            groups: set[str] = set()
            for tok in r["users"]:
                u, g = _resolve(tok, aliases, uids, gids)
                users |= u
                groups |= g
            grants.append((f"{r['file']}:{r['line']}", users, groups))
    else:  # older facts: flat lists
        users, groups = set(), set(sudoers.get("groups") or [])
        for tok in sudoers.get("users") or []:
            u, g = _resolve(tok, aliases, uids, gids)
            users |= u
            groups |= g
        grants.append(("sudoers rule", users, groups))
    return grants


def _members(facts: Mapping[str, Any], group: str) -> set[str]:
    acc = section(facts, "accounts")
    info = acc["groups"].get(group)
    if not info:
        return set()
    return set(info["members"]) | {
        login for login, u in acc["users"].items() if u.get("gid") == info["gid"]}


def privileged_accounts(facts: Mapping[str, Any]) -> dict[str, str]:
    """login -> why it has administrator rights (sudo group, sudoers rule, uid 0).

    With sudo's own answer in the facts, a sudoers rule counts when ``sudo -l -U`` says the
    account may run something here; the parsed rule (file:line) is the explanation.
    """
    acc = section(facts, "accounts")
    grants = _parsed_grants(facts)
    explained: dict[str, str] = {}
    for where, users, groups in grants:
        label = "sudoers rule" if where == "sudoers rule" else f"sudoers rule {where}"
        for login in users:
            explained.setdefault(login, label if login != "ALL"
                                 else f"{label} for ALL users")
        for g in groups:
            for login in _members(facts, g):
                explained.setdefault(login, f"{label} (group {g})")
    why: dict[str, str] = {}
    for m in sorted(_members(facts, "sudo")):
        why[m] = "group sudo"
    sudo = facts.get("sudo")
    if sudo is None and "sudo" in (facts.get("errors") or {}):
        raise FactsUnavailable(f"sudo -l could not be run: {facts['errors']['sudo']}")
    if sudo is not None and sudo.get("installed"):
        failed = {login: v.get("error", "?") for login, v in sudo["users"].items()
                  if v.get("allowed") is None}
        if failed:
            first = min(failed)
            raise FactsUnavailable(f"sudo -l -U failed for {len(failed)} account(s), "
                                   f"e.g. {first}: {failed[first]}")
        for login, v in sudo["users"].items():
            if v.get("allowed"):
                rules = "; ".join(v.get("rules") or [])[:120]
                why.setdefault(login, explained.get(login, "rule not found in the files read")
                               + f" [sudo -l: {rules}]")
    elif sudo is None:  # older facts: the parse alone
        for login, reason in explained.items():
            why.setdefault(login, reason)
    for login, u in acc["users"].items():
        if u.get("uid") == 0:
            why.setdefault(login, "uid 0")
    why.pop("root", None)
    return why


def _manual(reason: str) -> bool:
    """True when a person must act: uid 0, or a rule apply does not move aside (a rule of
    /etc/sudoers itself, of a file outside /etc/sudoers.d, or one sudo applies but no file
    read explains, e.g. an LDAP sudoers source)."""
    if reason == "uid 0" or reason.startswith("rule not found"):
        return True
    if reason.startswith("sudoers rule /"):
        path = reason[len("sudoers rule "):].split(":", 1)[0]
        return not path.startswith(SUDOERS_D)
    return False


def acc_04(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-ACC-04: admin rights = declared admins + management user, nobody else."""
    admins = sorted(str(a) for a in var(variables, "esms_accounts_admins", []))
    mgmt = str(var(variables, "esms_management_user"))
    why = privileged_accounts(facts)
    sudo_group = _members(facts, "sudo")
    extra = {k: v for k, v in why.items() if k not in admins and k != mgmt}
    not_in_sudo = [a for a in admins if a not in sudo_group]
    found = {"administrators": {k: why[k] for k in sorted(why)}}
    expected = f"sudo group = {admins + [mgmt]}; nobody else with sudo rights or uid 0"
    problems = []
    manual = sorted(k for k, v in extra.items() if _manual(v))
    if manual:
        problems.append(f"{MANUAL_ACTION}: " + ", ".join(f"{k} ({extra[k]})" for k in manual)
                        + " (a UID 0 account is locked and expired by apply, never deleted, and "
                          "a rule of /etc/sudoers or outside /etc/sudoers.d is not edited)")
    if extra:
        problems.append("undeclared administrators: " + ", ".join(sorted(extra)))
    if not_in_sudo:
        problems.append("declared admins not in sudo: " + ", ".join(not_in_sudo))
    if mgmt not in why:
        problems.append(f"management user {mgmt} has no sudo right")
    return Outcome(not problems, found, expected, "; ".join(problems) or "as declared")


def interactive_accounts(facts: Mapping[str, Any]) -> dict[str, str]:
    """Accounts of people (UID_MIN <= uid <= UID_MAX) that can open a session: not expired,
    and a usable password or a login shell (an SSH key needs only the shell)."""
    acc = section(facts, "accounts")
    if not acc.get("shadow_readable"):
        raise FactsUnavailable("/etc/shadow was not readable by the collector")
    defs = facts.get("login_defs") or {}
    uid_min = as_int(defs.get("UID_MIN")) or 1000
    uid_max = as_int(defs.get("UID_MAX")) or 60000
    today = int(acc["today_days"])
    out: dict[str, str] = {}
    for login, u in acc["users"].items():
        uid = u.get("uid")
        if uid is None or not uid_min <= uid <= uid_max:
            continue
        sh = u.get("shadow") or {}
        expire = sh.get("expire_days")
        if expire is not None and expire <= today:
            continue
        usable = sh.get("status") in ("hash", "empty") or u.get("passwd_field") in ("hash",
                                                                                    "empty")
        shell = u.get("shell") or ""
        if usable or shell not in _NO_LOGIN_SHELLS:
            out[login] = (f"uid {uid}, shell {shell or '(none)'}, "
                          + ("password usable" if usable else "password locked"))
    return out


def acc_07(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-ACC-07: every interactive account is declared (user, management account,
    forbidden generic login) or in the profile's list of known local accounts."""
    mgmt = str(var(variables, "esms_management_user"))
    declared = {str(u["login"]) for u in var(variables, "esms_accounts_users", [])}
    declared |= {str(x) for x in var(variables, "esms_accounts_forbidden_generic_logins", [])}
    allow = {str(x) for x in var(variables, "esms_accounts_local_allowlist", [])}
    interactive = interactive_accounts(facts)
    undeclared = {k: v for k, v in sorted(interactive.items())
                  if k not in declared and k not in allow and k != mgmt}
    expected = ("interactive accounts (uid >= UID_MIN, usable password or login shell): "
                "declared users, the management account"
                + (f", or the known local accounts {sorted(allow)}" if allow else ""))
    if undeclared:
        return Outcome(False, undeclared, expected,
                       f"{MANUAL_ACTION}: undeclared interactive account(s) "
                       f"{', '.join(undeclared)}: declare them (or mark them departed), or add "
                       "them to accounts.local_allowlist")
    return Outcome(True, {k: v for k, v in sorted(interactive.items())} or "none", expected,
                   "every interactive account is declared")
