"""Socle 5, passwords: ESMS-PWD-01..04 on Debian."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from esms_baseline.conformance.model import Outcome
from esms_baseline.conformance.rules._util import as_int, section, var

_CLASS_CREDITS = {"upper": "ucredit", "lower": "lcredit", "digit": "dcredit", "special": "ocredit"}
#: Hashing methods accepted for stored passwords (yescrypt, SHA-512 and the other modern
#: salted, iterated ones). Everything else (md5, des, sha256, nt, unknown) is weak.
STRONG_METHODS = ("yescrypt", "gost-yescrypt", "sha512", "bcrypt", "scrypt")
_PAM_UNIX_METHODS = ("yescrypt", "gost_yescrypt", "sha512", "sha256", "md5", "bigcrypt",
                     "blowfish")


def _stack(facts: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    stacks = section(facts, "pam")["stacks"]
    return [e for e in (stacks.get(name) or []) if "module" in e]


def _index(entries: Sequence[Mapping[str, Any]], module: str, arg: str | None = None) -> int:
    for i, e in enumerate(entries):
        if e["module"] == module and (arg is None or arg in e["args"]):
            return i
    return -1


def _args_kv(args: Sequence[str]) -> dict[str, str]:
    return {a.split("=", 1)[0]: a.split("=", 1)[1] for a in args if "=" in a}


def pwd_01(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-PWD-01: pam_pwquality enforces min length, required classes and min classes."""
    min_length = int(var(variables, "esms_passwords_min_length"))
    required = list(var(variables, "esms_passwords_required_classes", []))
    min_classes = int(var(variables, "esms_passwords_min_classes", 0))
    password = _stack(facts, "common-password")
    i_pwq = _index(password, "pam_pwquality.so")
    i_unix = _index(password, "pam_unix.so")
    pwq = section(facts, "pwquality")
    values: dict[str, Any] = dict(pwq["values"])
    # The keys must be stated in pwquality.conf itself: its values win over the drop-ins,
    # and it is the file the reference scanner reads (catalogue/scanner_map.yml).
    main: Mapping[str, Any] = pwq.get("main") or {}
    unstated = [k for k in ("minlen", "minclass", *_CLASS_CREDITS.values()) if k not in main]
    # every value stated there counts (a weaker one above the last is still a weaker one)
    stated = {k: [as_int(x) for x in (v if isinstance(v, list) else [v])] for k, v in main.items()}
    if i_pwq >= 0:
        values.update(_args_kv(password[i_pwq]["args"]))  # PAM arguments win over the files
    minlen = as_int(values.get("minlen", 8)) or 8
    minclass = as_int(values.get("minclass", 0)) or 0
    credits = {c: as_int(values.get(c, 0)) or 0 for c in _CLASS_CREDITS.values()}
    found: dict[str, Any] = {
        "pam_pwquality in common-password": i_pwq >= 0,
        "minlen": minlen,
        "minclass": minclass,
        **credits,
    }
    classes = ", ".join(required) or "none in particular"
    expected = (
        f"pam_pwquality before pam_unix in common-password; minlen >= {min_length}; "
        f"minclass >= {min_classes}; required classes ({classes}) credit <= -1; "
        "no positive credit; each stated in /etc/security/pwquality.conf"
    )
    problems = []
    if i_pwq < 0:
        problems.append("pam_pwquality is not in common-password: no quality check")
    elif 0 <= i_unix < i_pwq:
        problems.append("pam_pwquality comes after pam_unix")
    if minlen < min_length:
        problems.append(f"minlen {minlen} < {min_length}")
    if minclass < min_classes:
        problems.append(f"minclass {minclass} < {min_classes}")
    for cls in required:
        if credits[_CLASS_CREDITS[cls]] > -1:
            problems.append(f"{cls} not required ({_CLASS_CREDITS[cls]}={credits[_CLASS_CREDITS[cls]]})")
    for name, value in credits.items():
        if value > 0:
            problems.append(f"{name}={value} lets shorter passwords through")
    weaker = [f"{k} = {x}" for k in ("minlen", "minclass") for x in stated.get(k, [])
              if x is None or x < {"minlen": min_length, "minclass": min_classes}[k]]
    weaker += [f"{c} = {x}" for cls, c in _CLASS_CREDITS.items() for x in stated.get(c, [])
               if x is None or x > (-1 if cls in required else 0)]
    if weaker:
        problems.append("weaker values also stated in pwquality.conf: " + ", ".join(weaker))
    if unstated:
        found["not in pwquality.conf"] = unstated
        problems.append("not stated in /etc/security/pwquality.conf: " + ", ".join(unstated))
    return Outcome(not problems, found, expected, "; ".join(problems) or "strength enforced")


def pwd_02(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-PWD-02: pam_faillock locks after `threshold` failures for `unlock_minutes`."""
    threshold = int(var(variables, "esms_passwords_lockout_threshold"))
    if threshold == 0:
        return Outcome.not_applicable("no lockout in the profile (threshold 0, CNIL case 1)")
    unlock = int(var(variables, "esms_passwords_lockout_unlock_minutes")) * 60
    auth = _stack(facts, "common-auth")
    account = _stack(facts, "common-account")
    i_pre = _index(auth, "pam_faillock.so", "preauth")
    i_fail = _index(auth, "pam_faillock.so", "authfail")
    i_unix = _index(auth, "pam_unix.so")
    i_acc = _index(account, "pam_faillock.so")
    values: dict[str, Any] = dict(section(facts, "faillock")["values"])
    if i_fail >= 0:
        values.update(_args_kv(auth[i_fail]["args"]))
    deny = as_int(values.get("deny", 3))
    unlock_time = as_int(values.get("unlock_time", 600))
    found = {
        "pam_faillock preauth/authfail in common-auth": [i_pre >= 0, i_fail >= 0],
        "pam_faillock in common-account": i_acc >= 0,
        "deny": deny,
        "unlock_time": unlock_time,
    }
    expected = (
        f"pam_faillock preauth before pam_unix and authfail after it, and in common-account; "
        f"deny between 1 and {threshold}; unlock_time >= {unlock} s (or 0: admin unlock)"
    )
    problems = []
    if i_pre < 0 or i_fail < 0 or i_acc < 0:
        problems.append("pam_faillock is not (fully) in the PAM stack: no lockout")
    elif not (i_pre < i_unix < i_fail):
        problems.append("pam_faillock lines are not around pam_unix")
    if deny is None or not 1 <= deny <= threshold:
        problems.append(f"deny={deny}, expected 1..{threshold}")
    if unlock_time is None or (unlock_time != 0 and unlock_time < unlock):
        problems.append(f"unlock_time={unlock_time} s < {unlock} s")
    return Outcome(not problems, found, expected, "; ".join(problems) or "lockout enforced")


def weak_hashes(facts: Mapping[str, Any]) -> dict[str, str]:
    """login -> method, for every stored password hashed with a weak method."""
    accounts = section(facts, "accounts")
    out = {}
    for login, user in accounts["users"].items():
        sh = user.get("shadow") or {}
        if sh.get("method") and sh["method"] not in STRONG_METHODS:
            out[login] = sh["method"]
        if user.get("passwd_field") not in ("x", "no_password", "empty"):
            out[login] = "hash in /etc/passwd"
    return out


def pwd_03(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-PWD-03: ENCRYPT_METHOD and pam_unix use the declared method; no weak stored hash."""
    method = str(var(variables, "esms_passwords_hash_method"))
    encrypt = section(facts, "login_defs").get("ENCRYPT_METHOD")
    password = _stack(facts, "common-password")
    i_unix = _index(password, "pam_unix.so")
    pam_method = None
    if i_unix >= 0:
        # the last method option on the line wins in pam_unix
        methods = [a for a in password[i_unix]["args"] if a in _PAM_UNIX_METHODS]
        pam_method = methods[-1] if methods else None
    weak = weak_hashes(facts)
    found = {
        "ENCRYPT_METHOD": encrypt,
        "pam_unix method": pam_method or "(from login.defs)",
        "weak stored hashes": weak,
    }
    expected = (
        f"ENCRYPT_METHOD {method.upper()}; pam_unix {method} or no method; every stored "
        f"password hashed with {', '.join(STRONG_METHODS)}"
    )
    problems = []
    if (encrypt or "").upper() != method.upper():
        problems.append(f"ENCRYPT_METHOD is {encrypt}, not {method.upper()}")
    if pam_method and pam_method != method:
        problems.append(f"pam_unix hashes new passwords with {pam_method}")
    if weak:
        problems.append("weak hashes: " + ", ".join(f"{k} ({v})" for k, v in sorted(weak.items())))
    return Outcome(not problems, found, expected, "; ".join(problems) or "strong hashing")


#: Passwords remembered when the plan does not say (the Windows hosts' default too).
DEFAULT_HISTORY_SIZE = 5


def _remembered(facts: Mapping[str, Any]) -> int | None:
    """remember=N of pam_pwhistory in common-password when it comes before pam_unix, else
    None (Debian 12's pam_pwhistory has no configuration file: its arguments are all)."""
    password = _stack(facts, "common-password")
    i_hist = _index(password, "pam_pwhistory.so")
    i_unix = _index(password, "pam_unix.so")
    if i_hist < 0 or (0 <= i_unix < i_hist) or password[i_hist].get("control") not in (
            "requisite", "required"):
        return None
    return as_int(_args_kv(password[i_hist]["args"]).get("remember", 10)) or 0


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def _days(value: int) -> int:
    """Profile semantics: 0 means no expiry, which shadow writes as 99999."""
    return 99999 if value == 0 else value


def pwd_04(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-PWD-04: login.defs defaults and each aged account's shadow ages match the profile."""
    max_days = _days(int(var(variables, "esms_passwords_max_age_days")))
    admin_max = _days(int(var(variables, "esms_passwords_admin_max_age_days")))
    min_days = int(var(variables, "esms_passwords_min_age_days", 1))
    warn_days = int(var(variables, "esms_passwords_warn_age_days", 7))
    users = list(var(variables, "esms_passwords_aged_users", []))
    admins = list(var(variables, "esms_passwords_aged_admins", []))
    defs = section(facts, "login_defs")
    accounts = section(facts, "accounts")["users"]
    found_defs = {k: as_int(defs.get(k)) for k in ("PASS_MAX_DAYS", "PASS_MIN_DAYS", "PASS_WARN_AGE")}
    want_defs = {"PASS_MAX_DAYS": max_days, "PASS_MIN_DAYS": min_days, "PASS_WARN_AGE": warn_days}
    problems = [f"login.defs {k}={found_defs[k]}, not {v}" for k, v in want_defs.items()
                if found_defs[k] != v]
    wrong: dict[str, str] = {}
    absent: list[str] = []
    for login, want_max in [(u, max_days) for u in users] + [(a, admin_max) for a in admins]:
        user = accounts.get(login)
        sh = (user or {}).get("shadow")
        if sh is None:  # a missing account is ESMS-ACC-01's failure, not counted twice
            absent.append(login)
            continue
        got = (_or(sh.get("max_days"), 99999), _or(sh.get("min_days"), 0),
               _or(sh.get("warn_days"), 0))
        if got != (want_max, min_days, warn_days):
            wrong[login] = f"max={got[0]} min={got[1]} warn={got[2]} (want max={want_max})"
    if wrong:
        problems.append(f"{len(wrong)} account(s) with other ages")
    root_sh = (accounts.get("root") or {}).get("shadow") or {}
    root_max = _or(root_sh.get("max_days"), 99999)
    if root_sh and root_max != admin_max:
        problems.append(f"root's maximum age is {root_max} d, not {admin_max} d")
    history = int(var(variables, "esms_passwords_history_size", DEFAULT_HISTORY_SIZE))
    remembered = _remembered(facts)
    if history > 0 and (remembered is None or remembered < history):
        problems.append(f"password history remembers {remembered or 0} password(s), "
                        f"not {history} (pam_pwhistory before pam_unix in common-password)")
    found: dict[str, Any] = {"login.defs": found_defs, "accounts": wrong or "all as declared",
                             "root max days": root_max, "history": remembered or 0}
    if absent:
        found["absent (see ESMS-ACC-01)"] = absent
    expected = (
        f"login.defs PASS_MAX_DAYS {max_days}, PASS_MIN_DAYS {min_days}, PASS_WARN_AGE "
        f"{warn_days}; users {users or '-'} max {max_days} d, admins {admins or '-'} max "
        f"{admin_max} d (99999 = no expiry); root max {admin_max} d; the last {history} "
        "password(s) refused (pam_pwhistory)"
    )
    return Outcome(not problems, found, expected, "; ".join(problems) or "ages as declared")
