"""A real ansible-runner worker for the tests: a dedicated unprivileged account
(``esmsworker``, created and removed here) reached over SSH on loopback, through an sshd of
the test's own (its config, host key and port; binary unpacked by scripts/setup.sh), with its
own virtualenv (scripts/worker-setup.sh, run as that account). It reaches lab hosts through
one Unix socket per host in its home: a socat relay run by root enters the host's network
namespace and connects to its loopback sshd (no address outside loopback, no port opened
beyond the sshd on 127.0.0.1)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from esms_baseline.lab import Lab
from esms_baseline.remote import Worker

ROOT = Path(__file__).resolve().parents[2]
USER = "esmsworker"
HOME = Path("/home") / USER
SSHD = Path("/var/cache/esms-baseline/worker-sshd/usr/sbin/sshd")
WHEELS = Path("/var/cache/esms-baseline/worker-wheels")


def skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root (creates a test account)"
    if not SSHD.exists():
        return f"{SSHD} missing: run scripts/setup.sh"
    if shutil.which("useradd") is None or shutil.which("runuser") is None:
        return "needs useradd and runuser"
    return None


def as_worker(*argv: str, stdin: bytes | None = None, timeout: float = 600,
              check: bool = True) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(["runuser", "-u", USER, "--", *argv], input=stdin,
                          capture_output=True, timeout=timeout, check=False, cwd="/")
    if check and proc.returncode != 0:
        raise AssertionError(f"{argv} as {USER}: {proc.returncode}: "
                             f"{proc.stderr.decode(errors='replace')[-2000:]}")
    return proc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningWorker:
    worker: Worker
    key: Path
    connection_inventory: Path
    relays: list[subprocess.Popen[bytes]]


def _wheels() -> Path:
    """ansible-core and ansible-runner wheels (pip download as root, cached), so that the
    worker's virtualenv installs offline and fast."""
    import importlib.metadata as md

    reqs = [f"ansible-core=={md.version('ansible-core')}",
            f"ansible-runner=={md.version('ansible-runner')}"]
    stamp = WHEELS / ("ok-" + "-".join(reqs).replace("=", ""))
    if not stamp.exists():
        WHEELS.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "-d", str(WHEELS),
                        "--python-version", "3.11", "--only-binary=:all:", *reqs],
                       check=True, timeout=600)
        stamp.touch()
    os.chmod(WHEELS, 0o755)
    for f in WHEELS.iterdir():
        os.chmod(f, 0o644)
    return WHEELS


@contextmanager
def running_worker(lab: Lab, hosts: list[str], tmp: Path) -> Iterator[RunningWorker]:
    """The worker account, its venv, its sshd and the relays to ``hosts``; all removed after."""
    wheels = _wheels()
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", USER], check=True)
    sshd: subprocess.Popen[bytes] | None = None
    relays: list[subprocess.Popen[bytes]] = []
    try:
        # sshd without PAM refuses a locked ('!') account: no password at all ('*')
        subprocess.run(["usermod", "-p", "*", USER], check=True)
        os.chmod(HOME, 0o700)
        as_worker("bash", "-s", "--", str(HOME / "venv"), str(wheels),
                  stdin=(ROOT / "scripts" / "worker-setup.sh").read_bytes())
        # sshd: the worker account's own (not root: no privilege separation user needed,
        # and it can only log in that account), own config, host key and port, 127.0.0.1 only
        conf = HOME / "sshd"
        as_worker("mkdir", "-m", "700", str(conf), str(HOME / ".ssh"))
        as_worker("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(conf / "host_key"))
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                        str(tmp / "client_key")], check=True)
        as_worker("tee", str(HOME / ".ssh" / "authorized_keys"),
                  stdin=(tmp / "client_key.pub").read_bytes())
        port = free_port()
        as_worker("tee", str(conf / "sshd_config"), stdin=(
            f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {conf / 'host_key'}\n"
            f"PidFile {conf / 'sshd.pid'}\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
            f"AllowUsers {USER}\nPermitRootLogin no\nAllowTcpForwarding no\n"
            "X11Forwarding no\nPermitTTY no\nAllowAgentForwarding no\n").encode())
        with open(tmp / "sshd.log", "wb") as log:
            sshd = subprocess.Popen(["runuser", "-u", USER, "--", str(SSHD), "-D", "-e", "-f",
                                     str(conf / "sshd_config")],
                                    stdout=subprocess.DEVNULL, stderr=log,
                                    start_new_session=True, cwd="/")
        known = tmp / "known_hosts"
        pub = as_worker("cat", str(conf / "host_key.pub")).stdout.decode().split()
        known.write_text(f"[127.0.0.1]:{port} {pub[0]} {pub[1]}\n")
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or sshd.poll() is not None:
                    raise AssertionError((tmp / "sshd.log").read_text()) from None
                time.sleep(0.1)
        # one relay per lab host: a socket only the worker account may open
        relay_dir = HOME / "relay"
        relay_dir.mkdir(mode=0o700)
        shutil.chown(relay_dir, USER, USER)
        hostvars = {}
        for name in hosts:
            sock = relay_dir / f"{name}.sock"
            leader = lab.host(name).leader_pid
            relays.append(subprocess.Popen(
                ["socat", f"UNIX-LISTEN:{sock},fork,unlink-early,user={USER},mode=600",
                 f"EXEC:nsenter -t {leader} -n socat STDIO TCP4\\:127.0.0.1\\:22"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True))
            # throwaway lab hosts reached only through our own namespaces: host keys are not
            # checked, as in the lab's own ssh_config (docs/lab.md); never on a real site
            hostvars[name] = {
                "ansible_user": lab.management_user, "ansible_become": True,
                "ansible_python_interpreter": "/usr/bin/python3",
                "ansible_ssh_common_args": (
                    f"-o ProxyCommand='socat - UNIX-CONNECT:{sock}' "
                    "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null")}
        for name in hosts:
            deadline = time.monotonic() + 5
            while not (relay_dir / f"{name}.sock").exists():
                assert time.monotonic() < deadline, f"relay to {name} did not start"
                time.sleep(0.05)
        inv = tmp / "worker-inventory.yml"
        inv.write_text(yaml.safe_dump({"all": {"hosts": hostvars}}))
        yield RunningWorker(
            worker=Worker(destination=f"{USER}@127.0.0.1", port=port, known_hosts=known,
                          identity_file=tmp / "client_key", venv=str(HOME / "venv")),
            key=lab.private_key, connection_inventory=inv, relays=relays)
    finally:
        for p in [*relays, *([sshd] if sshd else [])]:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
        subprocess.run(["userdel", "--remove", "--force", USER], check=False,
                       capture_output=True)
