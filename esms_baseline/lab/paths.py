"""Where a lab keeps its files, and the names that keep two labs apart.

Everything a lab creates on the control machine (cgroups, overlay mounts, pid and state
files, SSH control sockets, nspawn machine names) is named after its *lab id*, a short hash
of the resolved state directory, so that two labs with different state dirs never collide.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from esms_baseline.errors import LabError

DEFAULT_STATE_DIR = Path("/var/lib/esms-baseline/lab")
DEFAULT_CACHE_DIR = Path("/var/cache/esms-baseline/lab")
STATE_DIR_ENV = "ESMS_LAB_DIR"
CACHE_DIR_ENV = "ESMS_LAB_CACHE"

# ssh appends ".XXXXXXXXXXXXXXXX" to a control socket while creating it; sun_path is 108.
_MAX_SOCKET_PATH = 100


def resolve_state_dir(state_dir: Path | None = None) -> Path:
    """The lab's state directory: argument, else $ESMS_LAB_DIR, else the default."""
    if state_dir is None:
        env = os.environ.get(STATE_DIR_ENV)
        state_dir = Path(env) if env else DEFAULT_STATE_DIR
    return Path(os.path.abspath(state_dir))


def resolve_cache_dir(cache_dir: Path | None = None) -> Path:
    """Where base root filesystems are cached: argument, else $ESMS_LAB_CACHE, else default."""
    if cache_dir is None:
        env = os.environ.get(CACHE_DIR_ENV)
        cache_dir = Path(env) if env else DEFAULT_CACHE_DIR
    return Path(os.path.abspath(cache_dir))


def lab_id(state_dir: Path) -> str:
    """A short, stable id for the lab living in ``state_dir`` (10 hex digits)."""
    return hashlib.sha256(str(state_dir).encode()).hexdigest()[:10]


def host_name(index: int) -> str:
    """The stable name of the ``index``-th host (1-based): ``lab-01``, ``lab-02``..."""
    if index < 1 or index > 99:
        raise LabError(f"host index out of range 1..99: {index}")
    return f"lab-{index:02d}"


def machine_name(lab: str, host: str) -> str:
    """The nspawn machine name: unique across labs (nspawn keys /run files on it)."""
    return f"{host}-{lab}"


def cgroup_name(lab: str) -> str:
    """The cgroup (in every hierarchy used) under which this lab's hosts run."""
    return f"esms-lab-{lab}"


def control_dir(state_dir: Path, lab: str) -> Path:
    """Directory for SSH ControlMaster sockets: the state dir, unless its path is too long."""
    if len(str(state_dir / "cm-lab-00")) <= _MAX_SOCKET_PATH - 17:
        return state_dir
    return Path("/run/esms-lab") / lab


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive fcntl lock on ``path`` (created if needed) for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
