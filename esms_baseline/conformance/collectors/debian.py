"""Fact collector for Debian hosts: run ONCE per host, as root, with the host's own python3.

This file and ``debian_sudo.py`` (sudo facts) are self-contained (standard library only,
Python >= 3.9): ``esms_baseline`` sends their source over SSH on the command line
(``python3 -I -B -c ...``) and reads back one JSON document on stdout. It only reads: no file is written (no temporary file, no ``.pyc``), no
service is started or reloaded, no setting is changed. Commands it runs are read-only
queries (``sshd -T``, ``nft -j list ruleset``, ``apt-config dump``, ``systemctl show`` ...),
started in parallel so that the whole collection costs one Python start-up plus the slowest
query.

Secrets never leave the host: for each password only its status (locked, empty, hashed) and
its hashing method are reported, never the hash.

Each section is collected independently; a section that cannot be read is reported under
``errors`` with the reason, so that the rules of other controls can still be evaluated.
"""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

# Sent to a host, this file follows debian_sudo.py in the same namespace (see
# collectors/__init__.py); imported as a module (tests), it imports it.
if "sudo_rights" not in globals():
    from esms_baseline.conformance.collectors.debian_sudo import sudo_rights, sudoers

SCHEMA = 1
CMD_TIMEOUT_SECONDS = 20

_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "SYSTEMD_PAGER": "",
    "SYSTEMD_COLORS": "0",
}

# The shell snippet run as an unprivileged user to read the EFFECTIVE TMOUT of a login shell.
_TMOUT_PROBE = 'declare -p TMOUT 2>/dev/null || echo "unset"'

# Units whose state the antivirus and backup controls read.
UNITS = (
    "clamav-freshclam.service", "clamav-daemon.service", "clamav-clamonacc.service",
    "esms-clamscan.timer", "esms-clamscan.service", "esms-backup.timer", "esms-backup.service",
)

# Backups (ESMS-BAK-02): the repository is queried read-only (no lock, no cache) with the
# settings the role wrote; a repository that does not answer in time is reported as such.
BACKUP_ENV = "/etc/esms-baseline/backup.env"
BACKUP_PATHS = "/etc/esms-baseline/backup-paths"
RESTIC_TIMEOUT_SECONDS = 25
#: the canary is a small file; a larger restore is cut (and then cannot match)
CANARY_MAX_BYTES = 1 << 20

# Antivirus (ESMS-AV-01/02)
CLAMAV_DB_DIR = "/var/lib/clamav"
CLAMSCAN_PATHS = "/etc/esms-baseline/clamscan-paths"
FRESHCLAM_LOG = "/var/log/clamav/freshclam.log"

# Read-only queries, all started at once. name -> argv
COMMANDS: dict[str, list[str]] = {
    "sshd": ["sshd", "-T"],
    "apt_config": ["apt-config", "dump"],
    "timer": [
        "systemctl", "show", "apt-daily-upgrade.timer",
        "-p", "TimersCalendar", "-p", "UnitFileState", "-p", "ActiveState",
        "-p", "RandomizedDelayUSec", "-p", "Persistent", "-p", "LoadState",
    ],
    "nft": ["nft", "-j", "list", "ruleset"],
    "nftables_enabled": ["systemctl", "is-enabled", "nftables.service"],
    "nftables_active": ["systemctl", "is-active", "nftables.service"],
    "systemd_version": ["systemctl", "--version"],
    "logind_config": ["systemd-analyze", "cat-config", "systemd/logind.conf"],
    "logind_running": [
        "busctl", "--timeout=3", "get-property", "org.freedesktop.login1",
        "/org/freedesktop/login1", "org.freedesktop.login1.Manager", "StopIdleSessionUSec",
    ],
    "login_shell": [
        "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
        "env", "-i", "HOME=/nonexistent", "PATH=/usr/bin:/bin", "TERM=dumb",
        "bash", "--login", "-c", _TMOUT_PROBE,
    ],
    # antivirus and backup units, one call (blocks in this order, blank-line separated)
    "units": [
        "systemctl", "show", *UNITS,
        "-p", "Id", "-p", "LoadState", "-p", "ActiveState", "-p", "SubState",
        "-p", "UnitFileState", "-p", "Result", "-p", "TimersCalendar", "-p", "ExecMainStatus",
        "-p", "ExecMainExitTimestamp",
    ],
}


class _Cmd:
    def __init__(self, argv: list[str], env: dict[str, str] | None = None,
                 timeout: float = CMD_TIMEOUT_SECONDS, binary: bool = False) -> None:
        self.argv = argv
        self.binary = binary
        self.proc: subprocess.Popen[Any] | None = None
        self.error = ""
        self.deadline = time.monotonic() + timeout
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=not binary,
                env=env or _ENV,
                cwd="/",
            )
        except OSError as exc:
            self.error = f"{argv[0]}: {exc.strerror or exc}"

    def result(self) -> dict[str, Any]:
        if self.proc is None:
            return {"rc": None, "stdout": "", "stderr": self.error, "missing": True}
        try:
            out, err = self.proc.communicate(
                timeout=max(CMD_TIMEOUT_SECONDS, self.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            return {"rc": None, "stdout": out, "stderr": "timed out", "missing": False}
        if self.binary:
            err = err.decode("utf-8", "replace")
        return {"rc": self.proc.returncode, "stdout": out, "stderr": err.strip(), "missing": False}


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return None


def _lines(text: str | None) -> list[str]:
    out = []
    for raw in (text or "").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


# ---------------------------------------------------------------------------- sections


def sshd(cmd: dict[str, Any]) -> dict[str, Any]:
    if cmd["rc"] != 0:
        raise RuntimeError(f"sshd -T failed (rc={cmd['rc']}): {cmd['stderr'][-300:]}")
    config: dict[str, Any] = {}
    for line in cmd["stdout"].splitlines():
        if not line.strip():
            continue
        key, _, value = line.partition(" ")
        key = key.lower()
        if key in config:  # repeated keys (listenaddress, hostkey ...) become lists
            prev = config[key]
            config[key] = (prev if isinstance(prev, list) else [prev]) + [value]
        else:
            config[key] = value
    return config


def sshd_config_main() -> dict[str, str]:
    """Keywords stated in /etc/ssh/sshd_config itself, before any Match block (lower-case
    keyword -> its first value): the only file the reference scanner (ComplianceAsCode)
    reads. What sshd does is ``sshd -T`` (section sshd)."""
    out: dict[str, str] = {}
    for line in _lines(_read("/etc/ssh/sshd_config")):
        key, _, value = line.partition(" ")
        if key.lower() == "match":
            break
        out.setdefault(key.lower(), value.strip())
    return out


def login_defs() -> dict[str, str]:
    text = _read("/etc/login.defs")
    if text is None:
        raise RuntimeError("/etc/login.defs not found")
    out: dict[str, str] = {}
    for line in _lines(text):
        parts = line.split(None, 1)
        out[parts[0]] = parts[1].strip() if len(parts) > 1 else ""
    return out


def _keyvalue_conf(paths: list[str]) -> dict[str, Any]:
    """name = value files (pwquality, faillock); a bare word is a boolean flag."""
    values: dict[str, Any] = {}
    for path in paths:
        for line in _lines(_read(path)):
            if "=" in line:
                k, _, v = line.partition("=")
                values[k.strip()] = v.strip()
            else:
                values[line] = True
    return values


def pwquality() -> dict[str, Any]:
    # libpwquality reads pwquality.conf.d/*.conf first (sorted), then pwquality.conf.
    files = sorted(glob.glob("/etc/security/pwquality.conf.d/*.conf"))
    files.append("/etc/security/pwquality.conf")
    present = [p for p in files if os.path.exists(p)]
    # pwquality.conf alone too, every stated value of each key: the file whose values win,
    # and the only one the reference scanner (ComplianceAsCode) reads, judging each value.
    main: dict[str, list[str]] = {}
    for line in _lines(_read("/etc/security/pwquality.conf")):
        k, eq, v = line.partition("=")
        if eq:
            main.setdefault(k.strip(), []).append(v.strip())
    return {"files": present, "values": _keyvalue_conf(present), "main": main}


def faillock() -> dict[str, Any]:
    path = "/etc/security/faillock.conf"
    return {"present": os.path.exists(path), "values": _keyvalue_conf([path])}


_PAM_LINE = re.compile(r"^(-?\w+)\s+(\[[^\]]*\]|\S+)\s+(\S+)\s*(.*)$")


def pam() -> dict[str, Any]:
    stacks: dict[str, Any] = {}
    for name in ("common-auth", "common-account", "common-password", "common-session"):
        text = _read("/etc/pam.d/" + name)
        if text is None:
            stacks[name] = None
            continue
        entries: list[dict[str, Any]] = []
        for line in _lines(text):
            m = _PAM_LINE.match(line)
            if not m:
                entries.append({"raw": line})
                continue
            typ, control, module, args = m.groups()
            entries.append(
                {
                    "type": typ.lstrip("-"),
                    "control": control,
                    "module": os.path.basename(module),
                    "args": args.split(),
                }
            )
        stacks[name] = entries
    configs = sorted(os.listdir("/usr/share/pam-configs")) if os.path.isdir(
        "/usr/share/pam-configs") else []
    return {"stacks": stacks, "pam_configs": configs}


_HASH_METHODS = (
    ("$y$", "yescrypt"),
    ("$gy$", "gost-yescrypt"),
    ("$7$", "scrypt"),
    ("$6$", "sha512"),
    ("$5$", "sha256"),
    ("$2b$", "bcrypt"),
    ("$2y$", "bcrypt"),
    ("$2a$", "bcrypt-2a"),
    ("$1$", "md5"),
    ("$md5", "sun-md5"),
    ("$sha1$", "sha1"),
    ("$3$", "nt"),
)


def password_status(field: str) -> dict[str, Any]:
    """Status of a shadow password field, without the hash itself."""
    locked = field.startswith("!")
    body = field.lstrip("!")
    if field == "":
        return {"status": "empty", "locked": False, "method": None}
    if body in ("", "*") or field.startswith("*"):
        return {"status": "no_password", "locked": True, "method": None}
    method = "unknown"
    for prefix, name in _HASH_METHODS:
        if body.startswith(prefix):
            method = name
            break
    else:
        if len(body) == 13 and not body.startswith("$"):
            method = "des"
    return {"status": "locked" if locked else "hash", "locked": locked, "method": method}


def _int(v: str) -> int | None:
    try:
        return int(v)
    except ValueError:
        return None


def accounts() -> dict[str, Any]:
    passwd = _read("/etc/passwd")
    group = _read("/etc/group")
    shadow = _read("/etc/shadow")
    if passwd is None or group is None:
        raise RuntimeError("/etc/passwd or /etc/group missing")
    groups: dict[str, Any] = {}
    gid_names: dict[int, str] = {}
    for line in group.splitlines():
        f = line.split(":")
        if len(f) < 4:
            continue
        members = [m for m in f[3].split(",") if m]
        gid = _int(f[2])
        groups[f[0]] = {"gid": gid, "members": members}
        if gid is not None:
            gid_names.setdefault(gid, f[0])
    users: dict[str, Any] = {}
    for line in passwd.splitlines():
        f = line.split(":")
        if len(f) < 7:
            continue
        gid = _int(f[3])
        primary = gid_names.get(gid, str(gid)) if gid is not None else None
        supplementary = sorted(g for g, info in groups.items() if f[0] in info["members"])
        users[f[0]] = {
            "uid": _int(f[2]),
            "gid": gid,
            "primary_group": primary,
            "groups": sorted(set(supplementary) | ({primary} if primary else set())),
            "gecos": f[4],
            "full_name": f[4].split(",")[0],
            "home": f[5],
            "shell": f[6],
            "passwd_field": "x" if f[1] == "x" else password_status(f[1])["status"],
            "shadow": None,
        }
    shadow_entries: dict[str, Any] = {}
    for line in (shadow or "").splitlines():
        f = line.split(":")
        if len(f) < 2:
            continue
        f += [""] * (9 - len(f))
        entry = password_status(f[1])
        entry.update(
            {
                "last_change_days": _int(f[2]),
                "min_days": _int(f[3]),
                "max_days": _int(f[4]),
                "warn_days": _int(f[5]),
                "inactive_days": _int(f[6]),
                "expire_days": _int(f[7]),
            }
        )
        shadow_entries[f[0]] = entry
        if f[0] in users:
            users[f[0]]["shadow"] = entry
    return {
        "users": users,
        "groups": groups,
        "shadow_readable": shadow is not None,
        "shadow_only": sorted(set(shadow_entries) - set(users)),
        "today_days": int(time.time() // 86400),
    }


_TMOUT_ASSIGN = re.compile(r"\bTMOUT=")


def tmout(shell: dict[str, Any]) -> dict[str, Any]:
    files: dict[str, list[str]] = {}
    candidates = ["/etc/profile", "/etc/bash.bashrc", "/etc/environment"]
    candidates += sorted(glob.glob("/etc/profile.d/*"))
    for path in candidates:
        lines = [ln for ln in _lines(_read(path)) if "TMOUT" in ln]
        if lines:
            files[path] = lines
    effective: dict[str, Any] = {"available": False}
    if shell["rc"] == 0:
        out = shell["stdout"].strip().splitlines()
        decl = out[-1] if out else ""
        m = re.match(r'^declare -(\S+) TMOUT="?([^"]*)"?$', decl)
        if m:
            flags, value = m.groups()
            effective = {
                "available": True,
                "set": True,
                "value": value,
                "readonly": "r" in flags,
                "exported": "x" in flags,
            }
        else:
            effective = {"available": True, "set": False, "value": None,
                         "readonly": False, "exported": False}
    else:
        effective["error"] = (shell["stderr"] or "")[-300:]
    return {"files": files, "effective": effective}


def systemd_version(cmd: dict[str, Any]) -> dict[str, Any]:
    m = re.match(r"systemd (\d+)", cmd["stdout"])
    return {"version": int(m.group(1)) if m else None, "raw": cmd["stdout"].split("\n", 1)[0]}


def logind(conf: dict[str, Any], running: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, str] = {}
    section = ""
    for line in _lines(conf["stdout"]):
        if line.startswith("["):
            section = line.strip("[]")
            continue
        if section == "Login" and "=" in line:
            k, _, v = line.partition("=")
            values[k.strip()] = v.strip()
    run: dict[str, Any] = {"available": False}
    if running["rc"] == 0:
        parts = running["stdout"].split()
        if len(parts) == 2 and parts[0] == "t":
            run = {"available": True, "StopIdleSessionUSec": int(parts[1])}
    else:
        run["error"] = (running["stderr"] or "")[-300:]
    return {"config": values, "config_rc": conf["rc"], "running": run}


def dconf() -> dict[str, Any]:
    # The graphical lock only concerns hosts with a desktop: the dconf tool (needed to compile
    # the system databases) or GNOME Shell. A lone dconf-service pulled in by a library is not
    # a desktop.
    dconf_cli = os.path.exists("/usr/bin/dconf")
    gnome_shell = os.path.exists("/usr/bin/gnome-shell")
    profile = _lines(_read("/etc/dconf/profile/user"))
    dbs: dict[str, Any] = {}
    for d in sorted(glob.glob("/etc/dconf/db/*.d")):
        name = os.path.basename(d)[:-2]
        keys: dict[str, dict[str, str]] = {}
        newest = 0.0
        for path in sorted(glob.glob(os.path.join(d, "*"))):
            if not os.path.isfile(path):
                continue
            newest = max(newest, os.stat(path).st_mtime)
            section = ""
            for line in _lines(_read(path)):
                if line.startswith("["):
                    section = line.strip("[]")
                elif "=" in line and section:
                    k, _, v = line.partition("=")
                    keys.setdefault(section, {})[k.strip()] = v.strip()
        locks: list[str] = []
        for path in sorted(glob.glob(os.path.join(d, "locks", "*"))):
            if os.path.isfile(path):
                newest = max(newest, os.stat(path).st_mtime)
                locks += _lines(_read(path))
        compiled = "/etc/dconf/db/" + name
        compiled_mtime = os.stat(compiled).st_mtime if os.path.exists(compiled) else None
        dbs[name] = {
            "keys": keys,
            "locks": locks,
            "compiled": compiled_mtime is not None,
            "compiled_up_to_date": compiled_mtime is not None and compiled_mtime >= newest,
        }
    return {
        "installed": dconf_cli or gnome_shell,
        "dconf_cli": dconf_cli,
        "gnome_shell": gnome_shell,
        "profile_user": profile,
        "dbs": dbs,
    }


_APT_LINE = re.compile(r'^(\S+?)\s+"(.*)";$')


def apt(cmd: dict[str, Any]) -> dict[str, Any]:
    if cmd["rc"] != 0:
        raise RuntimeError(f"apt-config dump failed: {cmd['stderr'][-300:]}")
    values: dict[str, Any] = {}
    for line in cmd["stdout"].splitlines():
        m = _APT_LINE.match(line.strip())
        if not m:
            continue
        key, value = m.groups()
        if not key.startswith(("Unattended-Upgrade::", "APT::Periodic::")):
            continue
        if key.endswith("::"):  # list element ('Key "";' then 'Key:: "item";' lines)
            current = values.get(key[:-2])
            if not isinstance(current, list):
                current = values[key[:-2]] = []
            current.append(value)
        elif not isinstance(values.get(key), list):
            values[key] = value
    return {"config": values}


def packages(names: tuple[str, ...]) -> dict[str, Any]:
    """Installed state of a few packages, read from the dpkg status file."""
    wanted = set(names)
    found: dict[str, str | None] = {n: None for n in names}
    text = _read("/var/lib/dpkg/status") or ""
    for block in text.split("\n\n"):
        m = re.search(r"^Package: (\S+)$", block, re.MULTILINE)
        if not m or m.group(1) not in wanted:
            continue
        status = re.search(r"^Status: (.*)$", block, re.MULTILINE)
        version = re.search(r"^Version: (.*)$", block, re.MULTILINE)
        installed = bool(status and status.group(1).endswith(" installed"))
        if installed or found[m.group(1)] is None:
            found[m.group(1)] = version.group(1) if installed and version else None
    return found


def timer(cmd: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    calendars: list[str] = []
    for line in cmd["stdout"].splitlines():
        k, _, v = line.partition("=")
        if k == "TimersCalendar":
            m = re.search(r"OnCalendar=(.*?) ;", v)
            if m:
                calendars.append(m.group(1).strip())
        elif k:
            props[k] = v
    props["calendars"] = calendars
    return props


def nft(cmd: dict[str, Any], enabled: dict[str, Any], active: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "enabled": enabled["stdout"].strip() or ("missing" if enabled["rc"] is None else "unknown"),
        "active": active["stdout"].strip() or "unknown",
        "installed": not cmd["missing"],
        "ruleset": None,
    }
    if cmd["missing"]:
        out["error"] = "nft not installed"
        return out
    if cmd["rc"] != 0:
        out["error"] = f"nft list ruleset failed: {cmd['stderr'][-300:]}"
        return out
    out["ruleset"] = json.loads(cmd["stdout"]) if cmd["stdout"].strip() else {"nftables": []}
    return out


def units(cmd: dict[str, Any]) -> dict[str, Any]:
    """``systemctl show`` of several units: unit id -> properties (calendars parsed)."""
    if cmd["rc"] != 0:
        raise RuntimeError(f"systemctl show failed (rc={cmd['rc']}): {cmd['stderr'][-300:]}")
    out: dict[str, Any] = {}
    for block in cmd["stdout"].strip().split("\n\n"):
        props = timer({"stdout": block})
        if props.get("Id"):
            out[props["Id"]] = props
    return out


def _env_file(text: str | None) -> dict[str, str]:
    """KEY=value lines of a systemd EnvironmentFile (quotes removed; in double quotes, a
    backslash before \\ " $ or a backquote escapes it, as systemd.exec(5) says)."""
    values: dict[str, str] = {}
    for line in _lines(text):
        k, sep, v = line.partition("=")
        if sep:
            v = v.strip()
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
                quote, v = v[0], v[1:-1]
                if quote == '"':
                    v = re.sub(r'\\([\\"$`])', r"\1", v)
            values[k.strip()] = v
    return values


def _file_info(path: str) -> dict[str, Any]:
    try:
        st = os.stat(path)
    except OSError:
        return {"path": path, "exists": False}
    return {"path": path, "exists": True, "mode": format(st.st_mode & 0o7777, "04o"),
            "uid": st.st_uid, "gid": st.st_gid, "size": st.st_size, "mtime": int(st.st_mtime)}


def _sha256(path: str) -> str | None:
    import hashlib

    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read(CANARY_MAX_BYTES)).hexdigest()
    except OSError:
        return None


def backup_start() -> tuple[dict[str, Any], dict[str, _Cmd]]:
    """Read the backup settings and start the read-only repository queries (if configured):
    the latest snapshot of this host and the restore of the canary to memory."""
    text = _read(BACKUP_ENV)
    env = _env_file(text)
    cfg: dict[str, Any] = {
        "configured": text is not None,
        "env": {k: v for k, v in env.items() if "PASSWORD" not in k or k.endswith("_FILE")},
        "paths": _lines(_read(BACKUP_PATHS)) if os.path.exists(BACKUP_PATHS) else None,
        "password_file": _file_info(env.get("RESTIC_PASSWORD_FILE") or "/etc/esms-baseline/restic.pass"),
    }
    canary = env.get("ESMS_BACKUP_CANARY")
    cfg["canary"] = ({**_file_info(canary), "sha256": _sha256(canary)} if canary else None)
    started: dict[str, _Cmd] = {}
    repo = env.get("RESTIC_REPOSITORY")
    if not repo:
        return cfg, started
    renv = dict(_ENV)
    renv["RESTIC_REPOSITORY"] = repo
    renv["RESTIC_PASSWORD_FILE"] = env.get("RESTIC_PASSWORD_FILE", "")
    select = ["--no-cache", "--no-lock"]
    which = []
    if env.get("ESMS_BACKUP_HOST"):
        which += ["--host", env["ESMS_BACKUP_HOST"]]
    if env.get("ESMS_BACKUP_TAG"):
        which += ["--tag", env["ESMS_BACKUP_TAG"]]
    started["snapshots"] = _Cmd(["restic", *select, "snapshots", "--json", "--latest", "1", *which],
                                env=renv, timeout=RESTIC_TIMEOUT_SECONDS)
    if canary:
        started["restore"] = _Cmd(["restic", *select, "dump", *which, "latest", canary],
                                  env=renv, timeout=RESTIC_TIMEOUT_SECONDS, binary=True)
    return cfg, started


def _restic_error(res: dict[str, Any]) -> str:
    if res["missing"]:
        return "restic is not installed"
    if res["rc"] is None:
        return f"no answer from the repository within {RESTIC_TIMEOUT_SECONDS} s"
    lines = [ln for ln in str(res["stderr"]).splitlines() if ln.strip()]
    fatal = [ln for ln in lines if ln.startswith("Fatal:")]
    return (fatal[-1] if fatal else (lines[-1] if lines else f"exit {res['rc']}"))[:300]


def backup(cfg: dict[str, Any], started: dict[str, _Cmd]) -> dict[str, Any]:
    import hashlib

    out = dict(cfg)
    out["now"] = int(time.time())
    if "snapshots" in started:
        res = started["snapshots"].result()
        snap: dict[str, Any] = {"ok": res["rc"] == 0, "error": None, "latest": None}
        if res["rc"] == 0:
            try:
                items = json.loads(res["stdout"] or "[]")
            except ValueError as exc:
                snap = {"ok": False, "error": f"restic snapshots: not JSON: {exc}", "latest": None}
            else:
                if items:
                    last = items[-1]
                    snap["latest"] = {k: last.get(k) for k in ("time", "short_id", "hostname",
                                                                 "paths", "tags")}
        else:
            snap["error"] = _restic_error(res)
        out["snapshots"] = snap
    else:
        out["snapshots"] = None
    if "restore" in started:
        res = started["restore"].result()
        if res["rc"] == 0:
            data = res["stdout"][:CANARY_MAX_BYTES]
            out["restore"] = {"ok": True, "error": None, "sha256": hashlib.sha256(data).hexdigest()}
        else:
            out["restore"] = {"ok": False, "error": _restic_error(res), "sha256": None}
    else:
        out["restore"] = None
    return out


_CVD_FIELDS = ("magic", "build_time", "version", "signatures", "functionality_level", "md5",
               "dsig", "builder", "stime")


def _cvd_header(path: str) -> dict[str, Any] | None:
    """The 512-byte header of a .cvd/.cld database: ClamAV-VDB:time:version:sigs:...:stime."""
    try:
        with open(path, "rb") as f:
            head = f.read(512).decode("ascii", "replace").rstrip("\x00 ")
    except OSError:
        return None
    parts = head.split(":")
    if parts[0] != "ClamAV-VDB" or len(parts) < 9:
        return None
    fields = dict(zip(_CVD_FIELDS, parts))
    stime = fields.get("stime", "").strip()
    return {"version": _int(fields.get("version", "")),
            "signatures": _int(fields.get("signatures", "")),
            "build_time": fields.get("build_time"),
            "built": int(stime) if stime.isdigit() else None}


def _fanotify() -> str:
    """Whether fanotify (clamonacc) can be used here: an fd is opened and closed, nothing else."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.fanotify_init(0x4 | 0x1, os.O_RDONLY)  # FAN_CLASS_CONTENT | FAN_CLOEXEC
    except (OSError, AttributeError) as exc:
        return f"unavailable: {exc}"
    if fd < 0:
        return "unavailable: " + os.strerror(ctypes.get_errno())
    os.close(fd)
    return "available"


def antivirus() -> dict[str, Any]:
    databases: list[dict[str, Any]] = []
    for path in sorted(glob.glob(os.path.join(CLAMAV_DB_DIR, "*"))):
        name = os.path.basename(path)
        if not os.path.isfile(path) or name.startswith("."):
            continue
        ext = name.rsplit(".", 1)[-1] if "." in name else ""
        if ext in ("cvd", "cld", "cud"):
            header = _cvd_header(path)
            databases.append({"name": name, "kind": "official", "size": os.path.getsize(path),
                              **(header or {"version": None, "built": None, "build_time": None,
                                            "signatures": None, "unreadable_header": True})})
        elif ext in ("ndb", "hdb", "hsb", "mdb", "msb", "ldb", "ign2", "fp", "sfp", "yar",
                     "yara", "cdb", "cbc", "pdb", "wdb", "ftm", "idb", "crb", "info", "ign"):
            databases.append({"name": name, "kind": "custom", "size": os.path.getsize(path),
                              "built": None})
    log = [ln for ln in (_read(FRESHCLAM_LOG) or "").splitlines() if ln.strip()]
    return {
        "db_dir_exists": os.path.isdir(CLAMAV_DB_DIR),
        "databases": databases,
        "freshclam_log_tail": [ln[-200:] for ln in log[-3:]],
        "scan_paths": _lines(_read(CLAMSCAN_PATHS)) if os.path.exists(CLAMSCAN_PATHS) else None,
        "fanotify": _fanotify(),
        "now": int(time.time()),
    }


def banner(sshd_config: dict[str, Any] | None) -> dict[str, Any]:
    files: dict[str, str | None] = {p: _read(p) for p in ("/etc/issue", "/etc/issue.net")}
    named = (sshd_config or {}).get("banner")
    if isinstance(named, str) and named.startswith("/") and named not in files:
        files[named] = _read(named)
    return {"files": files, "sshd_banner": named}


def os_release() -> dict[str, str]:
    values = {}
    for line in _lines(_read("/etc/os-release")):
        k, _, v = line.partition("=")
        values[k] = v.strip().strip('"')
    return values


# ---------------------------------------------------------------------------- main


def collect() -> dict[str, Any]:
    started = time.monotonic()
    running = {name: _Cmd(argv) for name, argv in COMMANDS.items()}
    facts: dict[str, Any] = {"schema": SCHEMA, "platform": "debian", "errors": {}}
    try:
        backup_cfg, backup_cmds = backup_start()
    except Exception as exc:  # noqa: BLE001 - reported as the backup section's error
        backup_cfg, backup_cmds = None, {}
        facts["errors"]["backup"] = f"{type(exc).__name__}: {exc}"

    def section(name: str, fn: Callable[[], Any]) -> None:
        try:
            facts[name] = fn()
        except Exception as exc:  # noqa: BLE001 - one unreadable section must not hide the others
            facts[name] = None
            facts["errors"][name] = f"{type(exc).__name__}: {exc}"

    section("os_release", os_release)
    section("login_defs", login_defs)
    section("sshd_config_main", sshd_config_main)
    section("pwquality", pwquality)
    section("faillock", faillock)
    section("pam", pam)
    section("accounts", accounts)
    section("sudoers", lambda: sudoers(facts.get("accounts")))
    section("sudo", lambda: sudo_rights(facts.get("accounts")))
    section("dconf", dconf)
    section(
        "packages",
        lambda: packages(("unattended-upgrades", "nftables", "libpam-pwquality", "dconf-cli",
                          "dconf-service", "openssh-server", "systemd", "clamav",
                          "clamav-freshclam", "clamav-daemon", "restic")),
    )
    section("antivirus", antivirus)
    results = {name: cmd.result() for name, cmd in running.items()}
    section("sshd", lambda: sshd(results["sshd"]))
    section("apt", lambda: apt(results["apt_config"]))
    section("timer", lambda: timer(results["timer"]))
    section("nft", lambda: nft(results["nft"], results["nftables_enabled"],
                               results["nftables_active"]))
    section("systemd", lambda: systemd_version(results["systemd_version"]))
    section("logind", lambda: logind(results["logind_config"], results["logind_running"]))
    section("tmout", lambda: tmout(results["login_shell"]))
    section("units", lambda: units(results["units"]))
    section("banner", lambda: banner(facts.get("sshd")))
    if backup_cfg is not None:
        cfg = backup_cfg
        section("backup", lambda: backup(cfg, backup_cmds))
    else:
        facts["backup"] = None
    # sections of the extra collector modules sent with this one (debian_sector.py)
    for extra_name, extra_fn in globals().get("SECTOR_SECTIONS", {}).items():
        section(extra_name, extra_fn)
    facts["collect_seconds"] = round(time.monotonic() - started, 3)
    return facts


def main() -> int:
    json.dump(collect(), sys.stdout, separators=(",", ":"), sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
