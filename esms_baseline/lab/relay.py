"""A local relay from one lab host to another's SSH server, through a Unix socket.

Lab hosts have no network (``--private-network``, loopback only). To let ``from_host`` reach
``to_host``'s sshd (e.g. a backup over SFTP to an off-site store played by another lab host),
the control machine listens on a Unix socket *inside* ``from_host``'s root filesystem
(``<root>/var/lib/esms-offsite/relay.sock``, created through the overlay's merged directory)
and, for each connection, enters ``to_host``'s network namespace and connects to its own
loopback port 22::

    socat UNIX-LISTEN:<from root>/var/lib/esms-offsite/relay.sock,fork \\
          EXEC:"nsenter -t <to leader> -n socat STDIO TCP4:127.0.0.1:22"

No address outside loopback is ever used, and nothing listens on a network port. Inside
``from_host`` a small Python helper (written next to the socket, hosts have no socat) joins
stdin/stdout to the socket: :attr:`Relay.proxy_command` is the ssh ``ProxyCommand`` to use
there. Sockets bound through the overlay's merged directory work from inside the host (the
same overlay inode is seen on both sides; checked on a bookworm lab).

Usage::

    with relay(lab, "lab-01", "lab-02") as r:
        ...  # on lab-01: ssh -o ProxyCommand="<r.proxy_command>" backup@offsite
    # or: r = relay(...); ...; r.stop()
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from types import TracebackType
from typing import Self

from esms_baseline.errors import LabError
from esms_baseline.lab.model import Lab

#: Where the relay lives inside ``from_host`` (root-only directory).
RELAY_DIR = "/var/lib/esms-offsite"
SOCKET_NAME = "relay.sock"
HELPER_NAME = "unix-proxy"

# stdin/stdout <-> Unix socket, for ssh's ProxyCommand inside a host (standard library only).
_HELPER = r'''#!/usr/bin/python3
"""ssh ProxyCommand: join stdin/stdout to a Unix socket (esms-baseline lab relay)."""
import os
import socket
import sys
import threading

sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(sys.argv[1])


def upstream():
    try:
        while True:
            data = os.read(0, 65536)
            if not data:
                break
            sock.sendall(data)
    finally:
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass


threading.Thread(target=upstream, daemon=True).start()
while True:
    data = sock.recv(65536)
    if not data:
        break
    view = memoryview(data)
    while view:
        view = view[os.write(1, view):]
'''


#: Relays left running on purpose (see Relay.detach).
_DETACHED: list[subprocess.Popen[bytes]] = []


class Relay:
    """A running relay; :meth:`stop` ends it (also on leaving a ``with`` block)."""

    def __init__(self, lab: Lab, from_host: str, to_host: str, *, port: int = 22,
                 start_timeout: float = 5.0, log_path: os.PathLike[str] | None = None) -> None:
        src = lab.host(from_host)
        dst = lab.host(to_host)
        if src.leader_pid is None or dst.leader_pid is None:
            raise LabError(f"relay {from_host} -> {to_host}: both hosts must be running")
        socat = shutil.which("socat")
        if socat is None:
            raise LabError("relay: socat is not installed on the control machine")
        self.from_host = from_host
        self.to_host = to_host
        self.directory = src.root / RELAY_DIR.lstrip("/")
        self.socket_path = self.directory / SOCKET_NAME
        self.helper_path = self.directory / HELPER_NAME
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        self.helper_path.write_text(_HELPER, encoding="utf-8")
        os.chmod(self.helper_path, 0o755)
        if self.socket_path.exists() or self.socket_path.is_symlink():
            self.socket_path.unlink()
        target = (f"EXEC:nsenter -t {dst.leader_pid} -n socat STDIO "
                  f"TCP4\\:127.0.0.1\\:{int(port)}")
        # A relay that outlives this process (log_path given) writes its errors to a file:
        # a pipe would close with us.
        err_target = open(log_path, "ab") if log_path is not None else subprocess.PIPE  # noqa: SIM115
        try:
            self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                [socat, f"UNIX-LISTEN:{self.socket_path},fork,unlink-early,mode=600", target],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err_target,
                start_new_session=True,  # its own process group: stop() ends its children too
            )
        finally:
            if log_path is not None and not isinstance(err_target, int):
                err_target.close()
        deadline = time.monotonic() + start_timeout
        while not self.socket_path.exists():
            if self._proc.poll() is not None:
                err = (self._proc.stderr.read() if self._proc.stderr else b"").decode(errors="replace")
                self._proc = None
                raise LabError(f"relay {from_host} -> {to_host}: socat exited: {err.strip()}")
            if time.monotonic() > deadline:
                self.stop()
                raise LabError(f"relay {from_host} -> {to_host}: no socket after {start_timeout} s")
            time.sleep(0.05)

    @property
    def pid(self) -> int | None:
        """PID of the relay's socat (None once stopped)."""
        return self._proc.pid if self._proc is not None else None

    @property
    def host_socket(self) -> str:
        """The socket's path as seen inside ``from_host``."""
        return f"{RELAY_DIR}/{SOCKET_NAME}"

    @property
    def proxy_command(self) -> str:
        """The ssh ``ProxyCommand`` that reaches ``to_host``'s sshd from inside ``from_host``."""
        return f"/usr/bin/python3 {RELAY_DIR}/{HELPER_NAME} {self.host_socket}"

    def stop(self) -> None:
        """Stop the relay and its per-connection children; remove the socket. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=5)
            if proc.stderr is not None:
                proc.stderr.close()
        try:
            self.socket_path.unlink()
        except FileNotFoundError:
            pass

    def detach(self) -> int:
        """Leave the relay running after this object is gone; return its process group id
        (the lab records it and ``lab down`` ends it)."""
        if self._proc is None:
            raise LabError(f"relay {self.from_host} -> {self.to_host} is not running")
        pid = self._proc.pid
        if self._proc.stderr is not None:
            self._proc.stderr.close()
        # Keep the Popen object for the life of this process: it is never waited for here
        # (the relay outlives us), and dropping it would warn that it still runs.
        _DETACHED.append(self._proc)
        self._proc = None
        return pid

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def relay(lab: Lab, from_host: str, to_host: str, *, port: int = 22) -> Relay:
    """Start a relay that lets ``from_host`` reach ``to_host``'s sshd (loopback only).

    Returns a :class:`Relay`, usable as a context manager; :attr:`Relay.proxy_command` is
    the ssh ProxyCommand to use inside ``from_host``. Raises LabError if it cannot start.
    """
    return Relay(lab, from_host, to_host, port=port)


__all__ = ["HELPER_NAME", "RELAY_DIR", "SOCKET_NAME", "Relay", "relay"]

