"""Dedicated cgroups for lab hosts (lab-notes pitfall 1).

The control machine has no systemd as PID 1: every nspawn would otherwise share the root
cgroup and the hosts' units fail at random. Each host's nspawn is started inside
``<hierarchy>/esms-lab-<lab id>/<host>`` in every hierarchy systemd uses: the cgroup v2
one (``/sys/fs/cgroup`` or, in the hybrid layout, ``/sys/fs/cgroup/unified``) and the
v1 ``name=systemd`` one when present.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from esms_baseline.errors import LabError


def hierarchies(mountinfo: str | None = None) -> list[Path]:
    """Mount points of the cgroup v2 hierarchy and of the v1 ``name=systemd`` one."""
    if mountinfo is None:
        mountinfo = Path("/proc/self/mountinfo").read_text()
    found: list[Path] = []
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(), right.split()
        if len(fields) < 5 or len(rfields) < 3:
            continue
        fstype, options = rfields[0], rfields[2].split(",")
        point = Path(_unescape(fields[4]))
        if fstype == "cgroup2" or (fstype == "cgroup" and "name=systemd" in options):
            found.append(point)
    if not any(_is_v2(p, mountinfo) for p in found):
        raise LabError("no cgroup v2 hierarchy is mounted on the control machine")
    return found


def _is_v2(point: Path, mountinfo: str) -> bool:
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        fields = left.split()
        if len(fields) >= 5 and Path(_unescape(fields[4])) == point:
            return right.startswith("cgroup2 ")
    return False


def _unescape(s: str) -> str:
    return (
        s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
    )


def lab_dirs(group: str) -> list[Path]:
    """This lab's top cgroup directory in every hierarchy (they may not exist)."""
    return [h / group for h in hierarchies()]


def host_dirs(group: str, host: str) -> list[Path]:
    """Create (if needed) and return the host's cgroup directory in every hierarchy."""
    dirs = []
    for top in lab_dirs(group):
        d = top / host
        try:
            d.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LabError(f"cannot create cgroup {d}: {exc}") from exc
        dirs.append(d)
    return dirs


def join(dirs: list[Path]) -> None:
    """Move the calling process into each cgroup (used in the child before exec)."""
    pid = str(os.getpid()).encode()
    for d in dirs:
        fd = os.open(d / "cgroup.procs", os.O_WRONLY)
        try:
            os.write(fd, pid)
        finally:
            os.close(fd)


def pids(top: Path) -> set[int]:
    """Every process in ``top`` and its descendants."""
    found: set[int] = set()
    if not top.is_dir():
        return found
    for dirpath, _dirs, files in os.walk(top):
        if "cgroup.procs" in files:
            try:
                text = (Path(dirpath) / "cgroup.procs").read_text()
            except OSError:
                continue
            found.update(int(x) for x in text.split())
    return found


def kill_all(group: str, timeout: float = 10.0) -> None:
    """SIGKILL every process left in this lab's cgroups, until they are empty."""
    deadline = time.monotonic() + timeout
    while True:
        left: set[int] = set()
        for top in lab_dirs(group):
            left |= pids(top)
        if not left:
            return
        if time.monotonic() > deadline:
            raise LabError(f"processes still in cgroup {group} after SIGKILL: {sorted(left)}")
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)


def remove(group: str) -> None:
    """Remove this lab's cgroup directories, deepest first (they must be empty)."""
    for top in lab_dirs(group):
        if not top.is_dir():
            continue
        dirs = [Path(p) for p, _d, _f in os.walk(top)]
        for d in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
            for attempt in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if attempt == 49:
                        raise LabError(f"cannot remove cgroup {d}: {exc}") from exc
                    time.sleep(0.1)
