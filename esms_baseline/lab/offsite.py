"""An off-site backup store for lab rehearsals: one lab host plays the MSP's SFTP store.

In production the off-site store is the MSP's (``backup.repository: sftp:USER@HOST:/PATH``
in the site profile). On the lab, :func:`setup_offsite` makes a spare lab host play it:

- on the store host, the repository's user and folder, and the client's backup key accepted
  for SFTP only;
- on each client (a site host that backs up), the backup key (``/root/.ssh/id_esms_backup``,
  which the backup role keeps), created here as an MSP would before installing its public
  key on the store;
- a relay (:mod:`esms_baseline.lab.relay`: a Unix socket in the client's root, nsenter into the
  store's namespace, loopback only) that outlives this process; ``lab down`` ends it;
- ``host_vars/<client>.yml`` beside the lab inventory with the two variables the backup role
  reads for the repository host: the ProxyCommand through the relay and the store's host key.

No address outside loopback is ever used: the repository's host name only names the SSH
``Host`` block on the client.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from esms_baseline.errors import LabError
from esms_baseline.lab.model import Lab
from esms_baseline.lab.relay import Relay

#: Where the lab records its off-site relays (process groups ended by ``lab down``).
RELAYS_FILE = "offsite-relays.json"
HOST_VARS_DIR = "host_vars"
BACKUP_KEY = "/root/.ssh/id_esms_backup"
_REPO = re.compile(r"^sftp:(?:(?P<user>[a-z_][a-z0-9_-]*)@)?(?P<host>[A-Za-z0-9.-]+):(?P<path>/[^\s]*)$")


@dataclass(frozen=True)
class OffsiteLink:
    client: str
    store: str
    user: str
    host: str
    path: str
    relay_pid: int


def parse_sftp_repository(repository: str) -> tuple[str, str, str]:
    """``sftp:user@host:/path`` -> (user, host, path)."""
    m = _REPO.match(repository)
    if not m or not m.group("user"):
        raise LabError(
            f"the lab can only play an SFTP store given as sftp:USER@HOST:/PATH, not {repository!r}"
        )
    return m.group("user"), m.group("host"), m.group("path").rstrip("/") or "/"


def _sh(lab: Lab, host: str, script: str) -> str:
    from esms_baseline.lab.core import nsenter_run

    return nsenter_run(lab, host, ["bash", "-c", script]).stdout


def _q(text: str) -> str:
    import shlex

    return shlex.quote(text)


def setup_offsite(lab: Lab, *, clients: Sequence[str], store: str, repository: str) -> list[OffsiteLink]:
    """Make ``store`` the off-site SFTP store of ``repository`` for ``clients`` (idempotent)."""
    user, host, path = parse_sftp_repository(repository)
    if store in clients:
        raise LabError(f"{store} cannot be both a backed-up host and its own off-site store")
    names = {h.name for h in lab.hosts}
    missing = [h for h in [store, *clients] if h not in names]
    if missing:
        raise LabError(f"no such lab host(s): {', '.join(missing)} (lab up -n with more hosts)")
    home = f"/srv/offsite/{user}"
    _sh(lab, store, f"""set -e
        id -u {_q(user)} >/dev/null 2>&1 || useradd --system -m -d {_q(home)} -s /bin/sh {_q(user)}
        install -d -o {_q(user)} -g {_q(user)} -m 0700 {_q(home)}/.ssh
        mkdir -p {_q(path)}
        chown {_q(user)}:{_q(user)} {_q(path)}
        chmod 0700 {_q(path)}""")
    hostkey = _sh(lab, store, "cat /etc/ssh/ssh_host_ed25519_key.pub").split()
    if len(hostkey) < 2:
        raise LabError(f"{store}: no ed25519 host key")
    stop_relays(lab.state_dir)
    links: list[OffsiteLink] = []
    keys: list[str] = []
    records: list[dict[str, object]] = []
    vars_dir = lab.state_dir / HOST_VARS_DIR
    vars_dir.mkdir(exist_ok=True)
    for client in clients:
        _sh(lab, client, f"install -d -m 0700 /root/.ssh && "
                         f"{{ [ -f {BACKUP_KEY} ] || ssh-keygen -q -t ed25519 -N '' -C esms-backup@{client} "
                         f"-f {BACKUP_KEY}; }}")
        keys.append(_sh(lab, client, f"cat {BACKUP_KEY}.pub").strip())
        r = Relay(lab, client, store, log_path=lab.state_dir / f"relay-{client}.log")
        pid = r.detach()
        records.append({"client": client, "store": store, "pgid": pid})
        (vars_dir / f"{client}.yml").write_text(
            "# Written by `esms-baseline lab offsite`: the lab's off-site store for this host.\n"
            + yaml.safe_dump(
                {
                    "esms_backup_ssh_proxy_command": r.proxy_command,
                    "esms_backup_ssh_known_hosts": [f"{host} {hostkey[0]} {hostkey[1]}"],
                },
                sort_keys=True,
            ),
            encoding="utf-8",
        )
        links.append(OffsiteLink(client, store, user, host, path, pid))
    authorized = "".join(f'restrict,command="/usr/lib/openssh/sftp-server" {k}\n' for k in keys)
    _sh(lab, store, f"""set -e
        printf %s {_q(authorized)} > {_q(home)}/.ssh/authorized_keys
        chown {_q(user)}:{_q(user)} {_q(home)}/.ssh/authorized_keys
        chmod 0600 {_q(home)}/.ssh/authorized_keys""")
    (lab.state_dir / RELAYS_FILE).write_text(json.dumps(records), encoding="utf-8")
    return links


def stop_relays(state_dir: Path) -> None:
    """End the off-site relays recorded in ``state_dir`` and forget them (idempotent)."""
    f = state_dir / RELAYS_FILE
    if not f.exists():
        return
    try:
        records = json.loads(f.read_text(encoding="utf-8"))
    except ValueError:
        records = []
    for rec in records if isinstance(records, list) else []:
        pgid = rec.get("pgid") if isinstance(rec, dict) else None
        if isinstance(pgid, int) and pgid > 1 and _is_socat(pgid):
            try:
                os.killpg(pgid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
    f.unlink(missing_ok=True)


def _is_socat(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text(encoding="utf-8").strip() == "socat"
    except OSError:
        return False


def forget(state_dir: Path) -> None:
    """Stop the relays and remove the host variables they wrote (``lab down``)."""
    stop_relays(state_dir)
    vars_dir = state_dir / HOST_VARS_DIR
    if vars_dir.is_dir():
        for p in vars_dir.glob("*.yml"):
            p.unlink()
        try:
            vars_dir.rmdir()
        except OSError:
            pass
