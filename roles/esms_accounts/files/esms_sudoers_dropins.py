"""ESMS-ACC-04 on Debian: move aside the /etc/sudoers.d drop-ins that give sudo rights to
accounts the profile does not allow. Run as root by the role (``python3 -I -B -c``, standard
library only); prints one JSON document.

Safety rules, in this order:
- ``visudo -c`` must pass before anything is touched; otherwise nothing is touched and a
  manual action is reported.
- Who has rights is sudo's own answer (``sudo -n -l -U <login>``); which file grants them is
  sudo's own parser (``cvtsudoers -f json <file>``, aliases from the whole policy). Without
  cvtsudoers nothing is touched (manual action).
- A drop-in that names the management account (by name, ``#uid``, a group it is in, an
  alias, ``ALL``) is never touched: if it also grants others, a manual action is reported.
- A moved drop-in is first copied (mode and owner kept) to the backup folder as
  ``<name>.<UTC date>``, then removed; ``visudo -c`` must pass again, otherwise every moved
  file is put back and a manual action is reported.
- Rights that remain afterwards (a rule of /etc/sudoers itself or of a file it includes from
  elsewhere, LDAP...) are reported as manual actions; /etc/sudoers is never edited.

Arguments: --allowed LOGIN... (declared admins, the management account), --management LOGIN,
--backup-dir DIR, --check (say what would be done, change nothing).
"""

from __future__ import annotations

import argparse
import grp
import json
import os
import pwd
import shutil
import subprocess
import sys
import time
from typing import Any

SUDOERS = "/etc/sudoers"
SUDOERS_D = "/etc/sudoers.d"
_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, env=_ENV, timeout=60,
                          stdin=subprocess.DEVNULL, check=False)


def visudo_ok() -> tuple[bool, str]:
    r = _run(["visudo", "-c"])
    return r.returncode == 0, (r.stderr or r.stdout).strip()[-300:]


def sudo_allowed(login: str) -> bool | None:
    r = _run(["sudo", "-n", "-l", "-U", login])
    if r.returncode != 0:
        return None
    if f"User {login} may run the following commands" in r.stdout:
        return True
    if f"User {login} is not allowed to run sudo" in r.stdout:
        return False
    return None


def cvtsudoers(path: str) -> dict[str, Any] | None:
    r = _run(["cvtsudoers", "-f", "json", path])
    if r.returncode != 0:
        return None
    try:
        doc = json.loads(r.stdout or "{}")
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def group_members(gr: grp.struct_group) -> set[str]:
    return set(gr.gr_mem) | {p.pw_name for p in pwd.getpwall() if p.pw_gid == gr.gr_gid}


def principals(entries: list[dict[str, Any]], aliases: dict[str, Any],
               depth: int = 0) -> tuple[set[str], bool]:
    """(logins granted, True if the list also names something we cannot resolve)."""
    logins: set[str] = set()
    unknown = False
    for e in entries:
        if e.get("negated"):
            continue
        if "username" in e:
            name = str(e["username"])
            if name == "ALL":
                logins |= {p.pw_name for p in pwd.getpwall()}
            else:
                logins.add(name)
        elif "userid" in e:
            try:
                logins.add(pwd.getpwuid(int(e["userid"])).pw_name)
            except (KeyError, ValueError):
                pass  # no account has this uid: it grants nobody today
        elif "usergroup" in e or "usergid" in e:
            try:
                gr = (grp.getgrnam(str(e["usergroup"])) if "usergroup" in e
                      else grp.getgrgid(int(e["usergid"])))
            except (KeyError, ValueError):
                continue
            logins |= group_members(gr)
        elif "useralias" in e and depth < 16:
            sub, unk = principals(aliases.get(str(e["useralias"])) or [], aliases, depth + 1)
            logins |= sub
            unknown |= unk
        else:
            unknown = True  # netgroup, non-Unix group
    return logins, unknown


def dropins() -> list[str]:
    if not os.path.isdir(SUDOERS_D):
        return []
    return [os.path.join(SUDOERS_D, n) for n in sorted(os.listdir(SUDOERS_D))
            if "." not in n and not n.endswith("~") and os.path.isfile(os.path.join(SUDOERS_D, n))]


def main(argv: list[str]) -> dict[str, Any]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--allowed", nargs="*", default=[])
    ap.add_argument("--management", required=True)
    ap.add_argument("--backup-dir", required=True)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    allowed = set(args.allowed) | {args.management, "root"}
    out: dict[str, Any] = {"moved": [], "kept": [], "manual": [], "changed": False}
    if not os.path.exists(SUDOERS) or shutil.which("sudo", path=_ENV["PATH"]) is None:
        return out  # no sudo: no sudo rights to remove
    uid0 = {p.pw_name for p in pwd.getpwall() if p.pw_uid == 0}  # ESMS-ACC-04's other task
    candidates = sorted({p.pw_name for p in pwd.getpwall()} - allowed - uid0)
    with_rights = {login for login in candidates if sudo_allowed(login)}
    if not with_rights:
        return out  # nobody to take rights from: nothing is read further, nothing touched
    ok, err = visudo_ok()
    if not ok:
        out["manual"].append(f"sudoers fails visudo -c before any change, nothing touched: {err}")
        return out
    if shutil.which("cvtsudoers", path=_ENV["PATH"]) is None:
        out["manual"].append("cvtsudoers not found: sudoers.d drop-ins not examined; undeclared "
                             f"accounts with sudo rights: {', '.join(sorted(with_rights))}")
        return out
    whole = cvtsudoers(SUDOERS) or {}
    aliases = whole.get("User_Aliases") or {}
    to_move: list[tuple[str, list[str]]] = []
    for path in dropins():
        doc = cvtsudoers(path)
        if doc is None:
            out["manual"].append(f"{path}: cvtsudoers cannot read it, not examined")
            continue
        granted: set[str] = set()
        unknown = False
        for spec in doc.get("User_Specs") or []:
            g, u = principals(spec.get("User_List") or [], {**aliases,
                                                             **(doc.get("User_Aliases") or {})})
            granted |= g
            unknown |= u
        offending = sorted(granted & with_rights)
        if not offending:
            out["kept"].append(path)
            continue
        if args.management in granted or unknown:
            why = "names the management account" if args.management in granted else \
                "names a netgroup or non-Unix group"
            out["manual"].append(f"{path} gives sudo rights to {', '.join(offending)} but "
                                 f"{why}: not moved, edit it by hand")
            continue
        to_move.append((path, offending))
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    moved: list[tuple[str, str]] = []
    if to_move and not args.check:
        os.makedirs(args.backup_dir, mode=0o700, exist_ok=True)
        os.chmod(args.backup_dir, 0o700)
    for path, offending in to_move:
        backup = os.path.join(args.backup_dir, f"{os.path.basename(path)}.{stamp}")
        if not args.check:
            shutil.copy2(path, backup)
            os.chown(backup, os.stat(path).st_uid, os.stat(path).st_gid)
            os.unlink(path)
            moved.append((path, backup))
        out["moved"].append({"file": path, "backup": backup, "grants": offending})
    if moved:
        ok, err = visudo_ok()
        if not ok:
            for path, backup in moved:
                shutil.copy2(backup, path)
            out["manual"].append("moving the drop-ins aside made sudoers fail visudo -c; "
                                 f"put back: {', '.join(p for p, _ in moved)}: {err}")
            out["moved"] = []
            return out
    out["changed"] = bool(out["moved"])
    gone = {login for m in out["moved"] for login in m["grants"]}
    remaining = sorted(
        login for login in with_rights
        if (login not in gone if args.check else sudo_allowed(login)))
    for login in remaining:
        out["manual"].append(f"{login} still has sudo rights (a rule of /etc/sudoers, of a "
                             "file it includes outside /etc/sudoers.d, or of another source): "
                             "edit by hand, /etc/sudoers is never edited")
    return out


if __name__ == "__main__":
    json.dump(main(sys.argv[1:]), sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
