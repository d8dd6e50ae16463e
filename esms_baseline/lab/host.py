"""One lab host: its overlay root, its systemd-nspawn, its leader, its teardown."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

from esms_baseline.errors import LabError
from esms_baseline.lab import cgroups
from esms_baseline.lab.model import MANAGEMENT_USER
from esms_baseline.lab.state import HostRecord

CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# nspawn processes started by this Python process, kept so that they are reaped (and not
# reported as leaked) when ``down`` runs in the same process; others are reaped by PID 1.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


# --- overlay -----------------------------------------------------------------------------


def mountpoints() -> list[str]:
    """Mount points on the control machine (from /proc/self/mountinfo, unescaped)."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        if len(fields) >= 5:
            points.append(cgroups._unescape(fields[4]))
    return points


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below ``path``, deepest first."""
    base = str(path).rstrip("/")
    found = {p for p in mountpoints() if p == base or p.startswith(base + "/")}
    return sorted(found, key=lambda p: p.count("/"), reverse=True)


def is_mounted(path: Path) -> bool:
    return str(path) in mountpoints()


def mount_overlay(base: Path, rec: HostRecord) -> None:
    root, upper, work = Path(rec.root), Path(rec.upper), Path(rec.work)
    for d in (root, upper, work):
        d.mkdir(parents=True, exist_ok=True)
    if is_mounted(root):
        return
    opts = f"lowerdir={base},upperdir={upper},workdir={work}"
    proc = subprocess.run(
        ["mount", "-t", "overlay", "overlay", "-o", opts, str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise LabError(f"cannot mount the overlay for {rec.name}: {proc.stderr.strip()}")


def unmount(point: str) -> None:
    for attempt in range(20):
        proc = subprocess.run(["umount", point], capture_output=True, text=True, check=False)
        if proc.returncode == 0 or point not in mountpoints():
            return
        time.sleep(0.2 if attempt < 19 else 0)
    proc = subprocess.run(["umount", "-l", point], capture_output=True, text=True, check=False)
    if proc.returncode != 0 and point in mountpoints():
        raise LabError(f"cannot unmount {point}: {proc.stderr.strip()}")


def _passwd_ids(root: Path, user: str) -> tuple[int, int]:
    for line in (root / "etc/passwd").read_text().splitlines():
        f = line.split(":")
        if len(f) >= 4 and f[0] == user:
            return int(f[2]), int(f[3])
    raise LabError(f"the base image has no user {user!r}: rebuild it")


def write_identity(root: Path, name: str, public_key: str) -> None:
    """Hostname, machine id, /etc/hosts and the management key, in the host's upper layer."""
    (root / "etc/hostname").write_text(f"{name}\n")
    (root / "etc/machine-id").write_text(uuid.uuid4().hex + "\n")
    (root / "etc/hosts").write_text(
        f"127.0.0.1\tlocalhost\n127.0.1.1\t{name}\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
        "ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
    )
    uid, gid = _passwd_ids(root, MANAGEMENT_USER)
    ssh_dir = root / "home" / MANAGEMENT_USER / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    os.chown(ssh_dir, uid, gid)
    keys = ssh_dir / "authorized_keys"
    keys.write_text(public_key.strip() + "\n")
    os.chmod(keys, 0o600)
    os.chown(keys, uid, gid)


# --- nspawn ------------------------------------------------------------------------------


def nspawn_argv(rec: HostRecord) -> list[str]:
    return [
        "systemd-nspawn",
        "--register=no",
        "--keep-unit",
        "--boot",
        f"--directory={rec.root}",
        "--private-network",
        f"--machine={rec.machine}",
        f"--hostname={rec.name}",
        "--link-journal=no",
        "--console=read-only",
    ]


def start(rec: HostRecord, cgroup_dirs: list[Path], log_path: Path) -> int:
    """Start the host's nspawn detached, inside its own cgroups; return its PID."""
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child
    try:
        proc = subprocess.Popen(
            nspawn_argv(rec),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            preexec_fn=lambda: cgroups.join(cgroup_dirs),  # noqa: PLW1509
            env={"PATH": os.environ.get("PATH", CONTAINER_PATH), "LANG": "C"},
        )
    except OSError as exc:
        raise LabError(f"cannot start systemd-nspawn for {rec.name}: {exc}") from exc
    finally:
        log.close()
    _CHILDREN[proc.pid] = proc
    return proc.pid


def _stat(pid: int) -> tuple[str, int] | None:
    """(comm, ppid) of a process, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = text[text.index("(") + 1 : text.rindex(")")]
    ppid = int(text[text.rindex(")") + 2 :].split()[1])
    return comm, ppid


def _pidns(pid: int | str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def is_nspawn(pid: int | None, root: str) -> bool:
    """True if ``pid`` is a live systemd-nspawn started on ``root`` (not a recycled PID)."""
    if not pid:
        return False
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return (
        bool(argv)
        and argv[0].endswith(b"systemd-nspawn")
        and f"--directory={root}".encode() in argv
    )


def is_leader(pid: int | None, nspawn_pid: int | None) -> bool:
    if not pid or not nspawn_pid:
        return False
    st = _stat(pid)
    return st is not None and st[0] == "systemd" and st[1] == nspawn_pid


def find_leader(nspawn_pid: int, timeout: float, log_path: Path) -> int:
    """The container's init: the child of nspawn named systemd, in another PID namespace,
    seen unchanged on consecutive polls (nspawn's short-lived helpers are not it)."""
    ours = _pidns("self")
    deadline = time.monotonic() + timeout
    candidate, seen = 0, 0
    while time.monotonic() < deadline:
        if _stat(nspawn_pid) is None:
            raise LabError(f"systemd-nspawn {nspawn_pid} exited:\n{log_tail(log_path)}")
        found = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            st = _stat(int(entry))
            if st and st[1] == nspawn_pid and st[0] == "systemd":
                ns = _pidns(entry)
                if ns is not None and ns != ours:
                    found = int(entry)
                    break
        if found and found == candidate:
            seen += 1
            if seen >= 3:
                return found
        else:
            candidate, seen = found, 0
        time.sleep(0.1)
    raise LabError(f"no container init under systemd-nspawn {nspawn_pid} after {timeout:.0f} s")


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no console log)"
    return "\n".join(text.strip().splitlines()[-lines:])


def terminate(pids: list[int], timeout: float) -> list[int]:
    """SIGTERM each PID (nspawn then shuts its container down), wait; return survivors."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    left = list(pids)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = [p for p in left if _alive(p)]
    return left


def wait_reaped(pids: list[int], timeout: float) -> None:
    """Wait until the PIDs are gone from /proc, zombies included: an orphaned nspawn is
    reaped by the control machine's PID 1, which may take a moment."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        child = _CHILDREN.pop(pid, None)
        if child is not None:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _CHILDREN[pid] = child
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
        time.sleep(0.1)


def kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _alive(pid: int) -> bool:
    st = _stat(pid)
    if st is None:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    if state == "Z":  # exited, not reaped yet: it is gone
        child = _CHILDREN.pop(pid, None)
        if child is not None:
            child.poll()
        return False
    return True


def nsenter_argv(leader_pid: int, argv: list[str]) -> list[str]:
    """Run ``argv`` inside every namespace of the host whose init is ``leader_pid``."""
    return ["nsenter", "-a", "-t", str(leader_pid), "--", *argv]
