"""What ``lab up`` needs on the control machine, said plainly when it is missing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from esms_baseline.errors import LabError

# command -> Debian package that provides it
REQUIRED_COMMANDS: dict[str, str] = {
    "mmdebstrap": "mmdebstrap",
    "systemd-nspawn": "systemd-container",
    "socat": "socat",
    "nsenter": "util-linux",
    "mount": "mount",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
}


def missing_requirements(build: bool = True) -> list[str]:
    """Every unmet requirement, as human-readable items (empty list: all is there)."""
    problems: list[str] = []
    if os.geteuid() != 0:
        problems.append("root (run as root: the lab mounts overlays and starts containers)")
    packages: dict[str, list[str]] = {}
    for cmd, pkg in REQUIRED_COMMANDS.items():
        if cmd == "mmdebstrap" and not build:
            continue
        if shutil.which(cmd) is None:
            packages.setdefault(pkg, []).append(cmd)
    for pkg, cmds in packages.items():
        problems.append(f"Debian package {pkg} (for {', '.join(cmds)})")
    try:
        filesystems = Path("/proc/filesystems").read_text()
    except OSError:
        filesystems = ""
    if "overlay" not in filesystems:
        problems.append("overlayfs support in the kernel (modprobe overlay)")
    if "cgroup2" not in filesystems:
        problems.append("cgroup v2 support in the kernel")
    return problems


def require(build: bool = True) -> None:
    """Raise :class:`LabError` listing everything missing for the lab."""
    problems = missing_requirements(build)
    if problems:
        pkgs = [p.split()[2] for p in problems if p.startswith("Debian package ")]
        hint = f"\n  apt-get install {' '.join(pkgs)}" if pkgs else ""
        raise LabError("the lab cannot run here; missing:\n  - " + "\n  - ".join(problems) + hint)


def raise_inotify_limits(instances: int = 8192, watches: int = 1048576) -> list[str]:
    """Raise (never lower) the inotify limits (pitfall 2). Returns what could not be set."""
    failed = []
    for name, wanted in (("max_user_instances", instances), ("max_user_watches", watches)):
        path = Path("/proc/sys/fs/inotify") / name
        try:
            current = int(path.read_text().strip())
            if current < wanted:
                path.write_text(f"{wanted}\n")
        except (OSError, ValueError) as exc:
            failed.append(f"fs.inotify.{name}: {exc}")
    return failed
