"""``up``, ``down``, ``status`` and ``nsenter_run``: the lab's life cycle."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from esms_baseline.errors import LabError
from esms_baseline.lab import cgroups, image, preflight
from esms_baseline.lab import host as hostmod
from esms_baseline.lab.model import MANAGEMENT_USER, Lab, LabHost
from esms_baseline.lab.paths import (
    cgroup_name,
    control_dir,
    host_name,
    lab_id,
    locked,
    machine_name,
    resolve_cache_dir,
    resolve_state_dir,
)
from esms_baseline.lab.sshconf import (
    KNOWN_HOSTS_DIR,
    SshTarget,
    render_inventory,
    render_known_hosts,
    render_ssh_config,
)
from esms_baseline.lab.state import (
    HostRecord,
    LabState,
    load_state,
    remove_state,
    save_state,
    write_atomic,
)

Progress = Callable[[str], None]

INVENTORY_FILE = "inventory.yml"
SSH_CONFIG_FILE = "ssh_config"
KEY_FILE = "id_ed25519"
LOCK_FILE = "lock"
HOSTS_DIR = "hosts"

MAX_HOSTS = 99
_STOP_TIMEOUT = 15.0


def _quiet(_msg: str) -> None:
    return None


# --- public API --------------------------------------------------------------------------


def up(
    count: int = 3,
    *,
    suite: str = "bookworm",
    desktop: bool = False,
    state_dir: Path | None = None,
    fresh: bool = False,
    progress: Progress | None = None,
) -> Lab:
    """Bring ``count`` hosts up (building the base image first if needed) and return them
    once each answers over SSH. Idempotent: hosts already running with the same count,
    suite and flavour are kept unless ``fresh``; anything else (including the debris of a
    crashed run) is torn down first."""
    say = progress or _quiet
    if not 1 <= count <= MAX_HOSTS:
        raise LabError(f"host count must be between 1 and {MAX_HOSTS}, got {count}")
    if suite not in image.SUITES:
        raise LabError(f"unknown suite {suite!r}: expected one of {', '.join(image.SUITES)}")
    preflight.require(build=True)
    sd = resolve_state_dir(state_dir)
    sd.mkdir(parents=True, exist_ok=True)
    os.chmod(sd, 0o700)
    lid = lab_id(sd)
    with locked(sd / LOCK_FILE):
        old = _load_or_none(sd)
        if (
            old is not None
            and not fresh
            and (old.suite, old.desktop, len(old.hosts)) == (suite, desktop, count)
            and all(_running(r) for r in old.hosts)
        ):
            say(f"{count} host(s) already running in {sd}")
            for r in old.hosts:
                if not (sd / KNOWN_HOSTS_DIR / r.name).exists():
                    _record_host_keys(sd, r)
            _write_access_files(sd, old)
            return _lab(sd, old, query=True)
        if old is not None or _has_debris(sd, lid):
            say("stopping and cleaning up the previous lab")
        _teardown(sd, lid, old)

        for problem in preflight.raise_inotify_limits():
            say(f"warning: could not raise {problem}")
        key = _ensure_key(sd, lid)
        base = image.ensure_base(resolve_cache_dir(), suite, desktop, say)
        records = [_record(sd, lid, host_name(i)) for i in range(1, count + 1)]
        state = LabState(
            lab_id=lid, suite=suite, desktop=desktop, base=str(base), hosts=tuple(records)
        )
        save_state(sd, state)
        try:
            state = _boot(sd, state, base, key, say)
        except BaseException:
            try:
                _teardown(sd, lid, _load_or_none(sd))
            except LabError:
                pass
            raise
        return _lab(sd, state, query=False)


def down(state_dir: Path | None = None) -> None:
    """Stop every host of the lab (by PID), unmount every overlay, remove its cgroups.
    Works after a crash (stale PIDs, mounts left) and when nothing is running."""
    if os.geteuid() != 0:
        raise LabError("lab down needs root")
    sd = resolve_state_dir(state_dir)
    if not sd.is_dir():
        return
    lid = lab_id(sd)
    with locked(sd / LOCK_FILE):
        _teardown(sd, lid, _load_or_none(sd))


def status(state_dir: Path | None = None) -> Lab:
    """The lab in ``state_dir`` as it is now (no hosts if there is none)."""
    sd = resolve_state_dir(state_dir)
    state = _load_or_none(sd)
    if state is None:
        return Lab(
            state_dir=sd,
            hosts=(),
            inventory_path=sd / INVENTORY_FILE,
            ssh_config_path=sd / SSH_CONFIG_FILE,
            private_key=sd / KEY_FILE,
            management_user=MANAGEMENT_USER,
        )
    return _lab(sd, state, query=True)


def nsenter_run(
    lab: Lab, host: str, argv: list[str], *, check: bool = True, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` inside every namespace of a lab host, as root (for tests/teardown)."""
    h = lab.host(host)
    if h.leader_pid is None:
        raise LabError(f"{host} is not running")
    proc = subprocess.run(
        hostmod.nsenter_argv(h.leader_pid, argv),
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        env={"PATH": hostmod.CONTAINER_PATH, "LANG": "C", "HOME": "/root", "TERM": "dumb"},
    )
    if check and proc.returncode != 0:
        raise LabError(
            f"{host}: {' '.join(argv)} failed (exit {proc.returncode}): "
            f"{(proc.stderr or proc.stdout).strip()}"
        )
    return proc


# --- internals ---------------------------------------------------------------------------


def _load_or_none(sd: Path) -> LabState | None:
    try:
        return load_state(sd)
    except LabError:
        return None  # unreadable state: treated as debris, cleaned up by scanning


def _record(sd: Path, lid: str, name: str) -> HostRecord:
    d = sd / HOSTS_DIR / name
    return HostRecord(
        name=name,
        machine=machine_name(lid, name),
        root=str(d / "root"),
        upper=str(d / "upper"),
        work=str(d / "work"),
    )


def _running(rec: HostRecord) -> bool:
    return hostmod.is_nspawn(rec.nspawn_pid, rec.root) and hostmod.is_leader(
        rec.leader_pid, rec.nspawn_pid
    )


def _ensure_key(sd: Path, lid: str) -> Path:
    key = sd / KEY_FILE
    if not (key.is_file() and key.with_suffix(".pub").is_file()):
        key.unlink(missing_ok=True)
        key.with_suffix(".pub").unlink(missing_ok=True)
        proc = subprocess.run(
            [
                "ssh-keygen",
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                f"esms-lab-{lid}",
                "-f",
                str(key),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise LabError(f"ssh-keygen failed: {proc.stderr.strip()}")
    os.chmod(key, 0o600)
    return key


def _log_path(sd: Path, name: str) -> Path:
    return sd / HOSTS_DIR / name / "console.log"


def _boot(sd: Path, state: LabState, base: Path, key: Path, say: Progress) -> LabState:
    count = len(state.hosts)
    pub = key.with_suffix(".pub").read_text()
    group = cgroup_name(state.lab_id)
    started = time.monotonic()
    records = list(state.hosts)
    say(f"starting {count} host(s)")
    for i, rec in enumerate(records):
        hostmod.mount_overlay(base, rec)
        hostmod.write_identity(Path(rec.root), rec.name, pub)
        log = _log_path(sd, rec.name)
        log.write_bytes(b"")
        pid = hostmod.start(rec, cgroups.host_dirs(group, rec.name), log)
        records[i] = replace(rec, nspawn_pid=pid)
        state = replace(state, hosts=tuple(records))
        save_state(sd, state)

    timeout = 120.0 + 5.0 * count
    workers = min(count, 32)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        leaders = list(
            pool.map(
                lambda r: hostmod.find_leader(r.nspawn_pid or 0, timeout, _log_path(sd, r.name)),
                records,
            )
        )
    records = [replace(r, leader_pid=lp) for r, lp in zip(records, leaders, strict=True)]
    state = replace(state, hosts=tuple(records))
    save_state(sd, state)
    _write_access_files(sd, state)
    say(f"{count} container(s) started in {time.monotonic() - started:.1f} s; waiting for SSH")

    deadline = time.monotonic() + timeout
    cfg = sd / SSH_CONFIG_FILE
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda r: _wait_ssh(sd, cfg, r, deadline), records))
    say(f"{count} host(s) up and reachable over SSH in {time.monotonic() - started:.1f} s")
    return state


def ssh_argv(ssh_config: Path, name: str, command: str) -> list[str]:
    """An ssh command to a lab host that opens no ControlMaster (for one-off probes)."""
    return [
        "ssh",
        "-F",
        str(ssh_config),
        "-o",
        "ControlMaster=no",
        "-o",
        "ControlPath=none",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=10",
        name,
        command,
    ]


def _wait_ssh(sd: Path, cfg: Path, rec: HostRecord, deadline: float) -> None:
    log = _log_path(sd, rec.name)
    last = ""
    while True:
        _record_host_keys(sd, rec)
        if not hostmod.is_nspawn(rec.nspawn_pid, rec.root):
            raise LabError(f"{rec.name} stopped while booting:\n{hostmod.log_tail(log)}")
        if time.monotonic() > deadline:
            raise LabError(
                f"{rec.name}: no SSH answer in time ({last or 'no error'}); console:\n"
                f"{hostmod.log_tail(log)}"
            )
        try:
            proc = subprocess.run(
                ssh_argv(cfg, rec.name, "systemctl is-system-running --wait"),
                capture_output=True,
                text=True,
                check=False,
                timeout=max(5.0, deadline - time.monotonic()),
            )
        except subprocess.TimeoutExpired:
            last = "ssh timed out"
            continue
        # 0 running; 1 degraded (a unit failed): either way the host is up and reachable.
        if proc.returncode in (0, 1) and proc.stdout.strip():
            return
        last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else last
        time.sleep(0.3)


def _record_host_keys(sd: Path, rec: HostRecord) -> None:
    """Write the host's public host keys, read from its own disk, as its known_hosts file
    (refreshed while it boots: ``ssh-keygen -A`` makes them at first boot)."""
    folder = sd / KNOWN_HOSTS_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    pubs = []
    for f in sorted((Path(rec.root) / "etc" / "ssh").glob("ssh_host_*_key.pub")):
        try:
            pubs.append(f.read_text(encoding="ascii"))
        except (OSError, UnicodeDecodeError):
            continue
    write_atomic(folder / rec.name, render_known_hosts(rec.name, lab_id(sd), pubs), 0o600)


def _write_access_files(sd: Path, state: LabState) -> None:
    key = sd / KEY_FILE
    cfg = sd / SSH_CONFIG_FILE
    cdir = control_dir(sd, state.lab_id)
    cdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    targets = [SshTarget(r.name, r.leader_pid) for r in state.hosts if r.leader_pid]
    write_atomic(
        cfg,
        render_ssh_config(targets, lab_id=state.lab_id, private_key=key, control_dir=cdir,
                          known_hosts_dir=sd / KNOWN_HOSTS_DIR),
        0o600,
    )
    write_atomic(
        sd / INVENTORY_FILE,
        render_inventory([t.name for t in targets], ssh_config=cfg, control_dir=cdir),
    )


def _host_state(rec: HostRecord) -> str:
    if not _running(rec):
        return "stopped"
    assert rec.leader_pid is not None
    try:
        proc = subprocess.run(
            hostmod.nsenter_argv(rec.leader_pid, ["systemctl", "is-system-running"]),
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
            env={"PATH": hostmod.CONTAINER_PATH, "LANG": "C"},
        )
    except subprocess.TimeoutExpired:
        return "unknown"
    return proc.stdout.strip() or "unknown"


def _lab(sd: Path, state: LabState, *, query: bool) -> Lab:
    def one(rec: HostRecord) -> LabHost:
        st = _host_state(rec) if query else "running"
        alive = st != "stopped"
        return LabHost(
            name=rec.name,
            state=st,
            leader_pid=rec.leader_pid if alive else None,
            root=Path(rec.root),
        )

    if query and state.hosts:
        with ThreadPoolExecutor(max_workers=min(len(state.hosts), 16)) as pool:
            hosts = tuple(pool.map(one, state.hosts))
    else:
        hosts = tuple(one(r) for r in state.hosts)
    return Lab(
        state_dir=sd,
        hosts=hosts,
        inventory_path=sd / INVENTORY_FILE,
        ssh_config_path=sd / SSH_CONFIG_FILE,
        private_key=sd / KEY_FILE,
        management_user=MANAGEMENT_USER,
    )


def _stray_nspawns(sd: Path) -> list[int]:
    """systemd-nspawn processes booting a directory of this lab (even if not recorded)."""
    prefix = f"--directory={sd / HOSTS_DIR}/".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"systemd-nspawn") and any(a.startswith(prefix) for a in argv):
            found.append(int(entry))
    return found


def _has_debris(sd: Path, lid: str) -> bool:
    group = cgroup_name(lid)
    return bool(
        _stray_nspawns(sd)
        or hostmod.mounts_under(sd / HOSTS_DIR)
        or any(d.exists() for d in cgroups.lab_dirs(group))
    )


def _close_masters(sd: Path, lid: str) -> None:
    cdir = control_dir(sd, lid)
    cfg = sd / SSH_CONFIG_FILE
    for sock in cdir.glob("cm-*") if cdir.is_dir() else []:
        if cfg.is_file():
            try:
                subprocess.run(
                    [
                        "ssh",
                        "-F",
                        str(cfg),
                        "-o",
                        f"ControlPath={sock}",
                        "-O",
                        "exit",
                        sock.name[3:],
                    ],
                    capture_output=True,
                    check=False,
                    timeout=5,
                )
            except subprocess.TimeoutExpired:
                pass
        sock.unlink(missing_ok=True)


def _teardown(sd: Path, lid: str, state: LabState | None) -> None:
    from esms_baseline.lab.offsite import forget

    group = cgroup_name(lid)
    forget(sd)  # off-site relays into these hosts, and the host variables they wrote
    _close_masters(sd, lid)
    pids = set(_stray_nspawns(sd))
    if state is not None:
        pids |= {
            r.nspawn_pid
            for r in state.hosts
            if r.nspawn_pid and hostmod.is_nspawn(r.nspawn_pid, r.root)
        }
    survivors = hostmod.terminate(sorted(pids), _STOP_TIMEOUT)
    hostmod.kill(survivors)
    cgroups.kill_all(group)
    hostmod.wait_reaped(sorted(pids), 10.0)
    for point in hostmod.mounts_under(sd / HOSTS_DIR):
        hostmod.unmount(point)
    cgroups.remove(group)
    left = hostmod.mounts_under(sd / HOSTS_DIR)
    if left:
        raise LabError(f"mounts left under {sd / HOSTS_DIR}: {', '.join(left)}")
    shutil.rmtree(sd / HOSTS_DIR, ignore_errors=True)
    shutil.rmtree(sd / KNOWN_HOSTS_DIR, ignore_errors=True)
    for name in (INVENTORY_FILE, SSH_CONFIG_FILE):
        (sd / name).unlink(missing_ok=True)
    remove_state(sd)
    cdir = control_dir(sd, lid)
    if cdir != sd and cdir.is_dir():
        shutil.rmtree(cdir, ignore_errors=True)
