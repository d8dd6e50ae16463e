"""Host keys: a host receives nothing (no task, no secret) unless its SSH host key is known.

Every SSH connection esms-baseline opens to a site host (``apply`` through Ansible, ``check``
through testinfra, the pre-flight probe here) is forced to ``StrictHostKeyChecking yes`` with
``UserKnownHostsFile`` naming:

1. the site's own file ``$ESMS_STATE_DIR/known_hosts/<site>`` (written only by ``esms-baseline
   trust`` or ``--trust-on-first-use``), and
2. the known_hosts files the connection inventory itself names (``UserKnownHostsFile`` in its
   ``ansible_ssh_common_args`` or in an ``-F`` ssh_config; ``/dev/null`` and the user's default
   ``~/.ssh/known_hosts`` do not count). The lab's inventory names the keys it read from its
   hosts' own disks (see ``esms_baseline.lab``).

Those options go first on the ssh command line, where OpenSSH keeps the first value it reads,
so an inventory saying ``StrictHostKeyChecking no`` cannot turn the check off.

Before a run, :func:`verify` connects to each host with those options and no authentication
method at all (``PreferredAuthentications none``): OpenSSH itself says whether the key it was
shown is the known one. A host with an unknown or changed key is left out of the run with a
clear message; the others go on.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Any

from esms_baseline.errors import EsmsError
from esms_baseline.statedir import default_state_dir

#: Folder of the per-site known_hosts files, under the state dir.
KNOWN_HOSTS_DIR = "known_hosts"
#: ssh's own defaults: a key there was never confirmed for this site, so it does not count.
_DEFAULT_USER_FILES = {"~/.ssh/known_hosts", "~/.ssh/known_hosts2", "/dev/null", "none"}
#: Host key algorithms fetched by ``trust`` (one connection each; the host may lack some).
TRUST_ALGORITHMS = ("ssh-ed25519", "ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521",
                    "rsa-sha2-512,rsa-sha2-256")
#: Ansible's default ``ssh_args`` without ``-C`` (kept after ours: connection reuse; no zlib
#: compression of module payloads that are already zipped, docs/apply.md).
ANSIBLE_DEFAULT_SSH_ARGS = "-o ControlMaster=auto -o ControlPersist=60s"
PROBE_TIMEOUT_SECONDS = 20
_NON_SSH_CONNECTIONS = {"winrm", "psrp", "local", "community.docker.docker", "docker"}
#: Connections that do not run OpenSSH: Ansible's paramiko plugin ignores ``ansible_ssh_args``
#: (it reads ~/.ssh/known_hosts), testinfra's paramiko backend accepts an unknown key with a
#: warning. The enforced options cannot reach them, so such a host is refused.
_PARAMIKO_CONNECTIONS = {"paramiko", "paramiko_ssh", "ansible.builtin.paramiko_ssh",
                         "ansible.legacy.paramiko_ssh"}
#: ssh's default global files (``ssh -G``): like the user's default file, never confirmed
#: for this site (a key there does not count).
_DEFAULT_GLOBAL_FILES = {"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}


class HostKeyError(EsmsError):
    """A host's SSH key could not be read, recorded or verified."""


class KeyStatus(str, Enum):
    VERIFIED = "verified"
    UNKNOWN = "unknown"
    CHANGED = "changed"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class Endpoint:
    """How ssh reaches one inventory host, and which known_hosts files vouch for it."""

    name: str
    #: ssh arguments from the inventory (common and extra args, user, port, identity)
    args: tuple[str, ...]
    destination: str
    #: known_hosts files, the site's first (new keys are recorded there)
    known_hosts: tuple[Path, ...]
    #: the name ssh looks the key up under (HostKeyAlias, or host / [host]:port)
    lookup: str
    #: the inventory's own ``ansible_ssh_args`` (kept after ours)
    inventory_ssh_args: str | None = None
    #: why this host cannot be verified whatever its key (a paramiko connection), else ""
    refusal: str = ""

    def enforced_options(self) -> list[str]:
        """ssh ``-o`` options that make ssh verify this host against its known_hosts files,
        and only them: not the control machine's global file, nor a ``KnownHostsCommand`` or
        DNS (SSHFP) records an inventory could name."""
        files = " ".join(_ssh_quote(str(p)) for p in self.known_hosts)
        return ["-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={files}",
                "-o", "GlobalKnownHostsFile=/dev/null", "-o", "KnownHostsCommand=none",
                "-o", "VerifyHostKeyDNS=no", "-o", "UpdateHostKeys=no"]


@dataclass(frozen=True)
class KeyCheck:
    host: str
    status: KeyStatus
    message: str


@dataclass(frozen=True)
class PresentedKey:
    """A host key a host presented, as a known_hosts line, with its SHA256 fingerprint."""

    line: str
    fingerprint: str
    key_type: str


def _ssh_quote(text: str) -> str:
    if re.search(r'["\x00-\x1f\x7f]', text):
        raise HostKeyError(f"unusable known_hosts path {text!r} (quote or control character)")
    return f'"{text}"' if re.search(r"\s", text) else text



def site_slug(site_name: str) -> str:
    """The file name of a site's known_hosts: two names with one slug share that file."""
    return re.sub(r"[^A-Za-z0-9]+", "-", site_name).strip("-").lower() or "site"


def site_known_hosts(site_name: str, state_dir: Path | None = None) -> Path:
    """The site's known_hosts file (its folder is created 0700; the file may not exist)."""
    slug = site_slug(site_name)
    folder = (state_dir or default_state_dir()) / KNOWN_HOSTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder / slug


def ssh_args_from_hostvars(name: str, hostvars: Mapping[str, Any]) -> tuple[list[str], str]:
    """The ssh arguments and destination Ansible's ssh connection would use for a host."""
    args: list[str] = []
    for key in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        value = hostvars.get(key)
        if value:
            args += shlex.split(str(value))
    user = hostvars.get("ansible_user") or hostvars.get("ansible_ssh_user")
    if user:
        args += ["-o", f"User={user}"]
    port = hostvars.get("ansible_port") or hostvars.get("ansible_ssh_port")
    if port:
        args += ["-o", f"Port={port}"]
    identity = hostvars.get("ansible_ssh_private_key_file") or hostvars.get("ansible_private_key_file")
    if identity:
        args += ["-i", str(identity)]
    destination = str(hostvars.get("ansible_host") or hostvars.get("ansible_ssh_host") or name)
    return args, destination


def is_ssh_host(hostvars: Mapping[str, Any]) -> bool:
    conn = str(hostvars.get("ansible_connection") or "ssh")
    return conn not in _NON_SSH_CONNECTIONS and conn.rsplit(".", 1)[-1] not in _NON_SSH_CONNECTIONS


def _default_user_files() -> set[str]:
    """ssh's default user files, as ``ssh -G`` prints them (expanded from the passwd home)."""
    import pwd

    homes = {str(Path.home()), pwd.getpwuid(os.getuid()).pw_dir}
    return _DEFAULT_USER_FILES | {f"{h}/.ssh/{n}" for h in homes for n in ("known_hosts", "known_hosts2")}


def resolve(name: str, args: Sequence[str], destination: str, site_file: Path) -> Endpoint:
    """The endpoint of a host: ``ssh -G`` (ssh's own reading of its configuration) gives the
    name keys are looked up under and the known_hosts files the inventory names."""
    proc = subprocess.run(["ssh", "-G", *args, "--", destination], capture_output=True,
                          text=True, check=False, timeout=PROBE_TIMEOUT_SECONDS)
    if proc.returncode != 0:
        raise HostKeyError(f"{name}: ssh cannot read its settings: {proc.stderr.strip()}")
    conf: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        key, _, value = line.partition(" ")
        conf.setdefault(key.lower(), value.strip())
    own = [Path(os.path.expanduser(f)) for f in shlex.split(conf.get("userknownhostsfile", ""))
           if f not in _default_user_files()]
    own += [Path(os.path.expanduser(f)) for f in shlex.split(conf.get("globalknownhostsfile", ""))
            if f not in _DEFAULT_GLOBAL_FILES | _default_user_files()]
    host = str(conf.get("hostkeyalias") or conf.get("hostname") or destination)
    port = conf.get("port", "22")
    lookup = host if conf.get("hostkeyalias") or port == "22" else f"[{host}]:{port}"
    files = tuple(dict.fromkeys([site_file, *own]))
    return Endpoint(name=name, args=tuple(args), destination=destination, known_hosts=files,
                    lookup=lookup)


def _probe_argv(ep: Endpoint, options: Sequence[str]) -> list[str]:
    """ssh that authenticates with nothing (no key, no password is ever offered) and exits:
    enough to go through key exchange, where the host key is checked."""
    return ["ssh", *options, "-o", "BatchMode=yes", "-o", "PreferredAuthentications=none",
            "-o", "ControlMaster=no", "-o", "ControlPath=none", "-o", "ConnectTimeout=10",
            "-o", "LogLevel=ERROR", *ep.args, "--", ep.destination, "true"]


def known_entries(ep: Endpoint) -> list[str]:
    """known_hosts lines for this host in its files (ssh-keygen -F: hashed names too)."""
    lines: list[str] = []
    for f in ep.known_hosts:
        if not f.is_file():
            continue
        proc = subprocess.run(["ssh-keygen", "-F", ep.lookup, "-f", str(f)], capture_output=True,
                              text=True, check=False)
        lines += [ln for ln in proc.stdout.splitlines() if ln and not ln.startswith("#")]
    return lines


def verify(ep: Endpoint) -> KeyCheck:
    """Connect once with the enforced options; OpenSSH decides whether the key is known."""
    try:
        proc = subprocess.run(_probe_argv(ep, ep.enforced_options()), capture_output=True,
                              text=True, check=False, timeout=PROBE_TIMEOUT_SECONDS,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return KeyCheck(ep.name, KeyStatus.UNREACHABLE, "no SSH answer in time")
    err = proc.stderr
    if "Host key verification failed" in err or "HOST IDENTIFICATION HAS CHANGED" in err:
        if "HOST IDENTIFICATION HAS CHANGED" in err or "has changed" in err or known_entries(ep):
            shown = re.search(r"SHA256:[A-Za-z0-9+/=]+", err)
            return KeyCheck(ep.name, KeyStatus.CHANGED, (
                f"the SSH host key of {ep.name} ({ep.lookup}) has CHANGED"
                + (f" (now {shown.group(0)})" if shown else "")
                + ": nothing was sent to it. If the change is expected (reinstalled host), "
                "check the new fingerprint on the host's console, then run "
                f"`esms-baseline trust PROFILE --host {ep.name} --replace`."))
        return KeyCheck(ep.name, KeyStatus.UNKNOWN, (
            f"the SSH host key of {ep.name} ({ep.lookup}) is not known yet: nothing was sent "
            f"to it. Run `esms-baseline trust PROFILE --host {ep.name}` and compare the "
            "fingerprints with the host's console (or use --trust-on-first-use)."))
    if proc.returncode == 0 or "Permission denied" in err:
        return KeyCheck(ep.name, KeyStatus.VERIFIED, "")
    tail = [ln for ln in err.strip().splitlines() if ln.strip()]
    return KeyCheck(ep.name, KeyStatus.UNREACHABLE, tail[-1] if tail else f"ssh exit {proc.returncode}")


def fetch(ep: Endpoint) -> list[PresentedKey]:
    """The host keys the host presents (one connection per algorithm family, through its own
    ProxyCommand and options), whatever is known: for ``trust`` to show and record."""
    found: list[PresentedKey] = []
    with tempfile.TemporaryDirectory(prefix="esms-hostkeys-") as tmp:
        for algs in TRUST_ALGORITHMS:
            kh = Path(tmp) / "kh"
            kh.write_text("")
            opts = ["-o", "StrictHostKeyChecking=accept-new", "-o", f"UserKnownHostsFile={kh}",
                    "-o", "GlobalKnownHostsFile=/dev/null", "-o", "KnownHostsCommand=none",
                    "-o", "HashKnownHosts=no",
                    "-o", "UpdateHostKeys=no", "-o", f"HostKeyAlgorithms={algs}"]
            try:
                subprocess.run(_probe_argv(ep, opts), capture_output=True, text=True, check=False,
                               timeout=PROBE_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                continue
            for line in kh.read_text().splitlines():
                parts = line.split()
                if len(parts) < 3:
                    continue
                entry = f"{ep.lookup} {parts[1]} {parts[2]}"
                found.append(PresentedKey(entry, fingerprint(entry), parts[1]))
    if not found:
        raise HostKeyError(f"{ep.name}: no host key could be read (is it reachable over SSH?)")
    return found


def fingerprint(line: str) -> str:
    """SHA256 fingerprint of a known_hosts line (ssh-keygen -l)."""
    with tempfile.NamedTemporaryFile("w", prefix="esms-key-", suffix=".pub") as f:
        parts = line.split()
        f.write(f"{parts[-2]} {parts[-1]}\n")
        f.flush()
        proc = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", f.name],
                              capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise HostKeyError(f"not a public key: {proc.stderr.strip()}")
    return proc.stdout.split()[1]


def record(ep: Endpoint, keys: Iterable[PresentedKey], *, replace: bool = False) -> Path:
    """Add keys to the site's known_hosts (0600); ``replace`` first removes what the site file
    held for this host (a key known from the inventory's own files is never overwritten)."""
    site = ep.known_hosts[0]
    if replace and site.exists():
        subprocess.run(["ssh-keygen", "-R", ep.lookup, "-f", str(site)], capture_output=True,
                       check=False)
        Path(f"{site}.old").unlink(missing_ok=True)
    old = site.read_text() if site.exists() else ""
    lines = [k.line for k in keys if k.line not in old.splitlines()]
    fd = os.open(site, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as f:
        f.write("".join(f"{ln}\n" for ln in lines))
    os.chmod(site, 0o600)
    return site


def verify_all(endpoints: Sequence[Endpoint], *, trust_on_first_use: bool = False,
               workers: int = 10) -> dict[str, KeyCheck]:
    """Verify each endpoint (in parallel); with ``trust_on_first_use`` an UNKNOWN key is
    recorded and counts as verified (a CHANGED one never does)."""
    def one(ep: Endpoint) -> KeyCheck:
        res = verify(ep)
        if res.status is KeyStatus.UNKNOWN and trust_on_first_use:
            record(ep, fetch(ep))
            res = verify(ep)
        return res

    if not endpoints:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(endpoints)))) as pool:
        return {r.host: r for r in pool.map(one, endpoints)}


def inventory_endpoints(sources: Sequence[Path], names: Sequence[str],
                        site_file: Path) -> dict[str, Endpoint]:
    """Endpoints of the SSH hosts among ``names``, from Ansible's own reading of the
    inventories (``ansible-inventory --list``)."""
    from esms_baseline.plan import _ansible_inventory_list

    hostvars = _ansible_inventory_list(sources).get("_meta", {}).get("hostvars", {})
    out: dict[str, Endpoint] = {}
    for n in names:
        hv = hostvars.get(n, {})
        if not is_ssh_host(hv):
            continue
        args, dest = ssh_args_from_hostvars(n, hv)
        ep = resolve(n, args, dest, site_file)
        own = hv.get("ansible_ssh_args")
        out[n] = replace(ep, inventory_ssh_args=str(own)) if own else ep
        conn = str(hv.get("ansible_connection") or "ssh")
        if conn in _PARAMIKO_CONNECTIONS:
            out[n] = replace(out[n], refusal=(
                f"{n}: ansible_connection {conn} does not use OpenSSH, so its host key cannot "
                "be verified against the site's known_hosts: nothing was sent to it. Use the "
                "ssh connection (docs/host-keys.md)."))
    return out


def unenforced(sources: Sequence[Path], endpoints: Mapping[str, Endpoint]) -> dict[str, str]:
    """Hosts whose settings, as Ansible reads the final inventories (``ansible-inventory
    --list``: ``host_vars/`` folders and every other source with its precedence), would not
    carry the enforced options: an ``ansible_ssh_args`` of higher precedence than the run's
    own (an inventory's ``host_vars/<host>.yml`` beats an inventory file's host variables)
    would replace them, or a connection that ignores them. Name -> message."""
    from esms_baseline.plan import _ansible_inventory_list

    hostvars = _ansible_inventory_list(sources).get("_meta", {}).get("hostvars", {})
    out: dict[str, str] = {}
    for n, ep in endpoints.items():
        hv = hostvars.get(n, {})
        conn = str(hv.get("ansible_connection") or "ssh")
        if ep.refusal or conn in _PARAMIKO_CONNECTIONS:
            out[n] = ep.refusal or f"{n}: ansible_connection {conn} does not use OpenSSH"
        elif str(hv.get("ansible_ssh_args")) != ansible_ssh_args(ep):
            out[n] = (f"{n}: an inventory sets ansible_ssh_args with a higher precedence than "
                      "the options that verify its host key (e.g. in a host_vars/ file): "
                      "nothing was sent to it. Put ssh options in ansible_ssh_common_args "
                      "(docs/host-keys.md).")
    return out


def ansible_ssh_args(ep: Endpoint) -> str:
    """The ``ansible_ssh_args`` of a verified host: our options first (ssh keeps the first
    value it reads), then the inventory's own ``ssh_args`` or Ansible's default."""
    ours = " ".join(shlex.quote(a) for a in ep.enforced_options())
    return f"{ours} {ep.inventory_ssh_args or ANSIBLE_DEFAULT_SSH_ARGS}"


def shell_options(ep: Endpoint) -> str:
    """The enforced options as shell words (testinfra builds a shell command line)."""
    return " ".join(shlex.quote(a) for a in ep.enforced_options())
