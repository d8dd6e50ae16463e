"""Extra facts of Debian hosts for the sector's controls: supported release (ESMS-UPD-04),
providers' remote access (ESMS-PRV-01..03).

Sent WITH ``debian.py`` (``collectors.collector_source`` inserts this file's body before
``debian.py``'s ``main`` guard): standard library only, read-only, nothing written on the
host. Every name here starts with ``sector_`` / ``_sector`` / ``REMOTE_`` so that it never
shadows a name of ``debian.py``. ``debian.collect()`` runs each function of
``SECTOR_SECTIONS`` as its own section (an unreadable one is reported under ``errors``).

Also importable on its own: the rules read :data:`REMOTE_TOOLS` from here, so that the
collector and the rules name the same tools.
"""

from __future__ import annotations

import os
import re
import subprocess
import time as _sector_time
from typing import Any

#: Remote-control software (ESMS-PRV-02): tool -> Debian packages (exact names or
#: ``prefix*``), systemd units (``fnmatch``-like ``*``) and TCP ports it listens on.
#: Sources: each vendor's Linux package / unit names and documented ports (docs/providers.md).
REMOTE_TOOLS: dict[str, dict[str, list[Any]]] = {
    "teamviewer": {"packages": ["teamviewer", "teamviewer-host"],
                   "units": ["teamviewerd.service"], "ports": [5938]},
    "anydesk": {"packages": ["anydesk"], "units": ["anydesk.service"], "ports": [7070]},
    "rustdesk": {"packages": ["rustdesk"], "units": ["rustdesk.service"],
                 "ports": [21118, 21119]},
    "x11vnc": {"packages": ["x11vnc"], "units": ["x11vnc.service"], "ports": []},
    "tigervnc": {"packages": ["tigervnc-standalone-server", "tigervnc-scraping-server",
                              "tigervnc-xorg-extension"],
                 "units": ["vncserver@*.service", "tigervncserver@*.service"], "ports": []},
    "tightvnc": {"packages": ["tightvncserver"], "units": [], "ports": []},
    "realvnc": {"packages": ["realvnc-vnc-server"],
                "units": ["vncserver-x11-serviced.service", "vncserver-virtuald.service"],
                "ports": []},
    "vnc": {"packages": [], "units": [], "ports": list(range(5900, 5911))},
    "screenconnect": {"packages": ["connectwisecontrol-*", "screenconnect-*"],
                      "units": ["connectwisecontrol-*.service", "screenconnect*.service"],
                      "ports": []},
    "splashtop": {"packages": ["splashtop-streamer"], "units": ["SRStreamer.service"],
                  "ports": []},
    "chrome-remote-desktop": {"packages": ["chrome-remote-desktop"],
                              "units": ["chrome-remote-desktop@*.service",
                                        "chrome-remote-desktop.service"], "ports": []},
    "xrdp": {"packages": ["xrdp"], "units": ["xrdp.service"], "ports": [3389]},
    "meshcentral-agent": {"packages": [], "units": ["meshagent.service"], "ports": []},
    # NoMachine's .deb is named nomachine (nomachine-enterprise-* for its servers) and runs
    # nxserver.service; its port 4000 is too common to be evidence alone
    "nomachine": {"packages": ["nomachine", "nomachine-*"], "units": ["nxserver.service"],
                  "ports": []},
}

_SECTOR_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
               "SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0"}
_SECTOR_TIMEOUT = 20


def _sector_read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _sector_run(argv: list[str]) -> tuple[int | None, str]:
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              env=_SECTOR_ENV, cwd="/", timeout=_SECTOR_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, str(exc)
    return proc.returncode, proc.stdout


def _sector_match(pattern: str, name: str) -> bool:
    regex = "^" + re.escape(pattern).replace(r"\*", ".*") + "$"
    return re.match(regex, name) is not None


# ---------------------------------------------------------------------------- release


def sector_release() -> dict[str, Any]:
    """The release (ESMS-UPD-04): os-release ID / VERSION_ID / VERSION_CODENAME and
    /etc/debian_version, and the host's date."""
    values: dict[str, str] = {}
    for line in (_sector_read("/etc/os-release") or _sector_read("/usr/lib/os-release")
                 or "").splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key in ("ID", "VERSION_ID", "VERSION_CODENAME", "PRETTY_NAME"):
            values[key.lower()] = value.strip().strip('"')
    debian_version = _sector_read("/etc/debian_version")
    return {
        **values,
        "debian_version": debian_version.strip()[:40] if debian_version else None,
        "today": _sector_time.strftime("%Y-%m-%d"),
    }


# ---------------------------------------------------------------------------- remote control


def _sector_installed_packages() -> list[str]:
    text = _sector_read("/var/lib/dpkg/status") or ""
    out = []
    for block in text.split("\n\n"):
        name = re.search(r"^Package: (\S+)$", block, re.MULTILINE)
        status = re.search(r"^Status: (.*)$", block, re.MULTILINE)
        if name and status and status.group(1).endswith(" installed"):
            out.append(name.group(1))
    return out


def _sector_unit_files() -> list[str]:
    names: set[str] = set()
    # generator.late: the units systemd-sysv-generator makes of /etc/init.d scripts (agents
    # installed by a shell script, e.g. ScreenConnect's Linux client, often come that way)
    for d in ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system",
              "/run/systemd/system", "/run/systemd/generator", "/run/systemd/generator.late"):
        try:
            entries = os.listdir(d)
        except OSError:
            continue
        names.update(e for e in entries if e.endswith(".service"))
    return sorted(names)


def _sector_listening() -> list[dict[str, Any]]:
    """TCP sockets in LISTEN state: port and the process names (``ss -Hltnp``)."""
    rc, out = _sector_run(["ss", "-H", "-l", "-t", "-n", "-p"])
    if rc != 0:
        raise RuntimeError(f"ss failed: {out[-200:]}")
    sockets = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        local = parts[3]
        port = local.rsplit(":", 1)[-1]
        if not port.isdigit():
            continue
        procs = sorted(set(re.findall(r'\("([^"]+)"', line)))
        sockets.append({"address": local, "port": int(port), "processes": procs})
    return sockets


def sector_remote_control() -> dict[str, Any]:
    """Remote-control software present (ESMS-PRV-02): per tool, the packages installed,
    the unit files present and the listening ports that reveal it."""
    packages = _sector_installed_packages()
    units = _sector_unit_files()
    sockets = _sector_listening()
    found: dict[str, dict[str, list[Any]]] = {}
    for tool, spec in REMOTE_TOOLS.items():
        hit = {
            "packages": sorted(p for p in packages
                               if any(_sector_match(pat, p) for pat in spec["packages"])),
            "units": sorted(u for u in units
                            if any(_sector_match(pat, u) for pat in spec["units"])),
            "ports": sorted({s["port"] for s in sockets if s["port"] in spec["ports"]}),
        }
        if any(hit.values()):
            found[tool] = hit
    return {"tools": found, "listening_ports": sorted({s["port"] for s in sockets})}


# ---------------------------------------------------------------------------- journal


def sector_journald() -> dict[str, Any]:
    """The journal's effective settings (ESMS-PRV-03): Storage, MaxRetentionSec,
    MaxFileSec, SystemMaxUse (last value wins across journald.conf and its drop-ins, as systemd reads
    them) and whether /var/log/journal exists."""
    rc, out = _sector_run(["systemd-analyze", "cat-config", "systemd/journald.conf"])
    if rc != 0:
        raise RuntimeError(f"systemd-analyze cat-config failed: {out[-200:]}")
    settings: dict[str, str] = {}
    section = ""
    for raw in out.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Journal]" and "=" in line:
            key, _, value = line.partition("=")
            settings[key.strip()] = value.strip()
    return {
        "storage": settings.get("Storage"),
        "max_retention": settings.get("MaxRetentionSec"),
        "system_max_use": settings.get("SystemMaxUse"),
        "max_file_sec": settings.get("MaxFileSec"),
        "persistent_dir": os.path.isdir("/var/log/journal"),
    }


#: section name -> function, run by debian.collect()
SECTOR_SECTIONS = {
    "release": sector_release,
    "remote_control": sector_remote_control,
    "journald": sector_journald,
}
