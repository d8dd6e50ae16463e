"""Sudo facts of a Debian host: what sudo itself says each account may do, and why.

Part of the Debian collector (sent with ``debian.py`` in one program, standard library
only, read-only). Two sources, compared by the rule of ESMS-ACC-04:

- the authority: ``sudo -n -l -U <login>`` for every account of the passwd database, run
  as root (sudo's own policy engine: includes, aliases, ``#uid``, host matching);
- the explanation: the sudoers files parsed here, following ``@include``/``#include`` and
  ``@includedir``/``#includedir`` wherever they point, with the file and line of each rule.

Grammar points (sudoers(5), "Other special characters and reserved words", "Including
other files from within sudoers"): ``#`` starts a comment *unless* it is part of an include
directive or is followed by digits where a user name may stand (``#1001`` is a uid,
``%#27`` a gid); relative include paths are relative to the including file's folder;
``%h`` in an include path is the short host name; an included folder's files are read in
lexical order, skipping names that end in ``~`` or contain a ``.``. A file that exists but
cannot be read is listed under ``unreadable``: the rule reports an error, never a pass.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from typing import Any

SUDOERS = "/etc/sudoers"
SUDOERS_D = "/etc/sudoers.d"
#: sudo stops following includes at this depth; so do we (and we never read a file twice).
MAX_INCLUDE_DEPTH = 128
SUDO_TIMEOUT_SECONDS = 20
_SUDO_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}

_INCLUDE = re.compile(r"^[@#](include|includedir)\s+(.+)$")
_ALIAS_KINDS = ("User_Alias", "Runas_Alias", "Host_Alias", "Cmnd_Alias", "Cmd_Alias")
# A '#' not followed by a digit starts a comment ("#1001" is a uid, "%#27" a gid).
_COMMENT = re.compile(r"#(?!\d)")


def strip_comment(line: str) -> str:
    """The line without its comment (an include directive is returned whole)."""
    s = line.strip()
    if _INCLUDE.match(s):
        return s
    m = _COMMENT.search(s)
    return (s[:m.start()] if m else s).strip()


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, text) of each logical line (backslash-newline joins lines)."""
    out: list[tuple[int, str]] = []
    buf, start = "", 0
    for n, raw in enumerate(text.splitlines(), 1):
        if not buf:
            start = n
        if raw.endswith("\\"):
            buf += raw[:-1] + " "
            continue
        buf += raw
        out.append((start, buf))
        buf = ""
    if buf:
        out.append((start, buf))
    return out


def _unquote(path: str) -> str:
    p = path.strip()
    if len(p) >= 2 and p[0] == p[-1] == '"':
        p = p[1:-1].replace('\\"', '"')
    return p.replace("\\ ", " ")


def _include_target(arg: str, including: str) -> str:
    path = _unquote(arg).replace("%h", socket.gethostname().split(".")[0])
    if not os.path.isabs(path):
        path = os.path.join(os.path.dirname(including), path)
    return os.path.normpath(path)


def included_dir_files(folder: str) -> list[str]:
    """The files sudo reads from an included folder, in its order."""
    return [os.path.join(folder, n) for n in sorted(os.listdir(folder))
            if "." not in n and not n.endswith("~")]


def _split_users(who: str) -> list[str]:
    return [t for t in (x.strip() for x in who.split(",")) if t]


def parse_rule(line: str) -> list[str] | None:
    """The user list of a user specification (``who host = ...``), else None."""
    if "=" not in line:
        return None
    left = re.sub(r"\s*,\s*", ",", line.split("=", 1)[0].strip())  # "<users> <hosts>"
    parts = left.split()
    if len(parts) != 2:
        return None
    return _split_users(parts[0])


def parse_aliases(line: str) -> tuple[str, dict[str, list[str]]]:
    """``User_Alias A = x, y : B = z`` -> ("User_Alias", {"A": [x, y], "B": [z]})."""
    kind, _, rest = line.partition(" ")
    out: dict[str, list[str]] = {}
    for part in rest.split(":"):
        name, _, members = part.partition("=")
        if name.strip():
            out[name.strip()] = _split_users(members)
    return kind, out


def read_sudoers(root: str = SUDOERS) -> dict[str, Any]:
    """Parse the sudoers policy from ``root``, following every include."""
    files: list[str] = []
    unreadable: dict[str, str] = {}
    missing: list[str] = []
    rules: list[dict[str, Any]] = []
    user_aliases: dict[str, list[str]] = {}
    seen: set[str] = set()

    def read(path: str, depth: int) -> None:
        real = os.path.realpath(path)
        if real in seen or depth > MAX_INCLUDE_DEPTH:
            return
        seen.add(real)
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except FileNotFoundError:
            missing.append(path)
            return
        except OSError as exc:
            unreadable[path] = exc.strerror or str(exc)
            return
        files.append(path)
        for lineno, raw in logical_lines(text):
            line = strip_comment(raw)
            if not line:
                continue
            inc = _INCLUDE.match(line)
            if inc:
                target = _include_target(inc.group(2), path)
                if inc.group(1) == "include":
                    read(target, depth + 1)
                    continue
                try:
                    names = included_dir_files(target)
                except FileNotFoundError:
                    continue  # sudo ignores a missing included folder
                except OSError as exc:
                    unreadable[target] = exc.strerror or str(exc)
                    continue
                for name in names:
                    read(name, depth + 1)
                continue
            first = line.split(None, 1)[0]
            if first.startswith("Defaults"):
                continue
            if first in _ALIAS_KINDS:
                kind, aliases = parse_aliases(line)
                if kind == "User_Alias":
                    user_aliases.update(aliases)
                continue
            who = parse_rule(line)
            if who:
                rules.append({"file": path, "line": lineno, "users": who})

    read(root, 0)
    return {
        "files": files,
        "outside_sudoers_d": [f for f in files
                              if f != SUDOERS and os.path.dirname(f) != SUDOERS_D],
        "unreadable": unreadable,
        "missing": missing,
        "rules": rules,
        "user_aliases": user_aliases,
    }


def resolve_principals(
    tokens: list[str], aliases: dict[str, list[str]], uids: dict[int, str],
    gids: dict[int, str], depth: int = 0,
) -> tuple[set[str], set[str], set[str]]:
    """(user logins, group names, other principals) a user list names (negations ignored:
    a ``!x`` never grants anything)."""
    users: set[str] = set()
    groups: set[str] = set()
    other: set[str] = set()
    for tok in tokens:
        if tok.startswith("!"):
            continue
        if tok.startswith("%:"):
            other.add(tok)
        elif tok.startswith("%#") and tok[2:].isdigit():
            groups.add(gids.get(int(tok[2:]), tok))
        elif tok.startswith("%"):
            groups.add(tok[1:])
        elif tok.startswith("#") and tok[1:].isdigit():
            users.add(uids.get(int(tok[1:]), tok))
        elif tok.startswith("+"):
            other.add(tok)
        elif tok in aliases and depth < 16:
            u, g, o = resolve_principals(aliases[tok], aliases, uids, gids, depth + 1)
            users |= u
            groups |= g
            other |= o
        else:
            users.add(tok)
    return users, groups, other


def sudoers(accounts: dict[str, Any] | None) -> dict[str, Any]:
    """Who the sudoers files name, with file and line (the explanation)."""
    parsed = read_sudoers()
    users_db = (accounts or {}).get("users") or {}
    groups_db = (accounts or {}).get("groups") or {}
    uids = {u["uid"]: login for login, u in users_db.items() if u.get("uid") is not None}
    gids = {g["gid"]: name for name, g in groups_db.items() if g.get("gid") is not None}
    users: set[str] = set()
    groups: set[str] = set()
    for rule in parsed["rules"]:
        u, g, o = resolve_principals(rule["users"], parsed["user_aliases"], uids, gids)
        rule["grants_users"] = sorted(u)
        rule["grants_groups"] = sorted(g)
        rule["grants_other"] = sorted(o)
        users |= u
        groups |= g
    parsed["users"] = sorted(users)
    parsed["groups"] = sorted(groups)
    # the former flat view (User_Alias lines are resolved above)
    parsed["aliases"] = []
    return parsed


_ALLOWED = re.compile(r"^User (\S+) may run the following commands on ")
_NOT_ALLOWED = re.compile(r"^User (\S+) is not allowed to run sudo on ")


def parse_sudo_list(login: str, rc: int | None, stdout: str, stderr: str) -> dict[str, Any]:
    """The answer of ``sudo -l -U login``: allowed or not, the rules it lists, or an error."""
    lines = stdout.splitlines()
    for i, line in enumerate(lines):
        m = _ALLOWED.match(line)
        if m and m.group(1) == login and rc == 0:
            rules = [ln.strip() for ln in lines[i + 1:] if ln.strip()]
            return {"allowed": True, "rules": rules[:50]}
        m = _NOT_ALLOWED.match(line)
        if m and m.group(1) == login and rc == 0:
            return {"allowed": False, "rules": []}
    err = [ln for ln in (stderr or "").splitlines()
           if ln.strip() and "unable to resolve host" not in ln]
    return {"allowed": None, "rules": [],
            "error": f"sudo -l -U exited {rc}: {(err[-1] if err else stdout.strip()[:200])}"}


def sudo_rights(accounts: dict[str, Any] | None) -> dict[str, Any]:
    """``sudo -n -l -U <login>`` for every account but root, in parallel (the authority)."""
    sudo = next((p for p in ("/usr/bin/sudo", "/bin/sudo") if os.path.exists(p)), None)
    if sudo is None:
        return {"installed": False, "users": {}}
    logins = sorted(login for login in ((accounts or {}).get("users") or {}) if login != "root")
    procs: dict[str, subprocess.Popen[str]] = {}
    out: dict[str, Any] = {}
    for login in logins:
        try:
            procs[login] = subprocess.Popen(
                [sudo, "-n", "-l", "-U", login], stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_SUDO_ENV,
                cwd="/")
        except OSError as exc:
            out[login] = {"allowed": None, "rules": [], "error": f"sudo: {exc}"}
    deadline = time.monotonic() + SUDO_TIMEOUT_SECONDS
    for login, proc in procs.items():
        try:
            so, se = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            out[login] = {"allowed": None, "rules": [], "error": "sudo -l timed out"}
            continue
        out[login] = parse_sudo_list(login, proc.returncode, so, se)
    return {"installed": True, "users": out}
