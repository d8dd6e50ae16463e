"""``check --worker``: collect the hosts' facts on a worker near them (ansible-runner
streaming, like ``apply --worker``: esms_baseline.remote), then evaluate the rules here.

One job = one fresh private data dir (``mkdtemp``, 0700) holding only:

- ``project/collect.yml``: one play, one ``ansible.builtin.raw`` task per host that runs the
  platform's collector exactly as a local check does (``collectors.remote_argv``: the
  compressed collector on the command line of ``python3 -I -B -c``, ``timeout``). ``raw``
  runs the command over the SSH session itself: no module file, no temporary folder, nothing
  is written on the host (a Python module, even pipelined, unpacks its payload in the host's
  temporary folder). As root by ``become``, like the apply;
- ``project/collect-vars.yml``: that command and the SSH options that verify host keys;
- ``project/known_hosts``: the hosts' public keys known to the site (see
  :func:`job_known_hosts`), under the host's inventory name (``HostKeyAlias``);
- ``inventory/``: the worker's connection inventory and a group of exactly the checked hosts;
- ``env/ssh_key`` only if a login key is given (``--worker-host-key``; a relay may hold its
  own key instead). No profile secret, no vault key, no ``env/passwords``: a check needs none.

Each host's facts come back in its job event (``res.stdout``); the controller then runs the
conformance suite on them (``check(..., facts_file=...)``), so verdicts, exit status and
history are those of a local check. A host the worker cannot reach is ``unreachable`` (the
others go on); a worker that cannot be reached is a RunError (exit 3).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from esms_baseline.conformance.collectors import remote_argv, scrub_surrogates
from esms_baseline.conformance.model import CheckPlan, facts_file_name
from esms_baseline.errors import RunError
from esms_baseline.profile import ansible_yaml
from esms_baseline.remote import IDENT, Worker, stream_job
from esms_baseline.results import CheckResult

#: Platforms whose collector runs through a worker (Windows: WinRM from the worker, not yet).
WORKER_PLATFORMS = ("debian",)
HOSTS_GROUP = "esms_check_hosts"
_PLAYBOOK = """\
# Written by esms-baseline for one remote check job: read-only fact collection.
- name: esms-baseline check | collect facts (read-only)
  hosts: esms_check_hosts
  gather_facts: false
  become: true
  vars_files: [collect-vars.yml]
  tasks:
    - name: esms-baseline check | run the collector (nothing written on the host)
      ansible.builtin.raw: "{{ esms_collect_command }}"
      changed_when: false
"""
#: ssh options first on every connection of the job (also ``apply --worker``: remote.py) (ssh keeps the first value it reads):
#: the host key is looked up under the host's inventory name in the job's known_hosts only.
SSH_ARGS = ("-o StrictHostKeyChecking=yes -o UserKnownHostsFile={{ playbook_dir }}/known_hosts "
             "-o GlobalKnownHostsFile=/dev/null -o KnownHostsCommand=none -o VerifyHostKeyDNS=no "
             "-o UpdateHostKeys=no -o HostKeyAlias={{ inventory_hostname }} "
             "-o ControlMaster=auto -o ControlPersist=60s")


#: A host name that is one plain known_hosts host and one shell word in ``HostKeyAlias=``.
_ALIAS_NAME = re.compile(r"[A-Za-z0-9_:][A-Za-z0-9._:-]*")


@dataclass
class WorkerFacts:
    """What the worker brought back: facts, or why a host has none."""

    facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    unreachable: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        hosts: dict[str, Any] = {n: {"facts": f} for n, f in self.facts.items()}
        hosts.update({n: {"unreachable": m} for n, m in self.unreachable.items()})
        hosts.update({n: {"error": m} for n, m in self.errors.items()})
        return {"hosts": hosts}


def job_known_hosts(plan: CheckPlan, state_dir: Path | None = None) -> tuple[str, dict[str, str]]:
    """known_hosts lines ``<host> <type> <key>`` for the plan's SSH hosts, and the hosts
    refused (name -> message). The keys are those a local check would accept (the site's
    file and the files the plan's inventory names, docs/host-keys.md), found under the name
    the controller looks them up by and rewritten under the inventory name, which the job
    forces as ``HostKeyAlias``: the worker's addresses for the hosts do not matter."""
    from esms_baseline.conformance.runner import verify_host_keys

    _, refused, endpoints = verify_host_keys(plan, state_dir=state_dir)
    names = [h.name for h in plan.hosts
             if h.platform in WORKER_PLATFORMS and h.name not in refused]
    known, unknown = known_hosts_for(plan.site_name, names, endpoints, state_dir)
    return known, {**refused, **unknown}


def known_hosts_for(site_name: str, names: Sequence[str], endpoints: Mapping[str, Any],
                    state_dir: Path | None = None) -> tuple[str, dict[str, str]]:
    """known_hosts lines for ``names`` under their inventory names (see
    :func:`job_known_hosts`); a host without an endpoint is looked up by its name in the
    site's file. Returns the lines and the hosts with no known key (name -> message)."""
    from esms_baseline import hostkeys

    site = hostkeys.site_known_hosts(site_name, state_dir)
    lines: list[str] = []
    refused: dict[str, str] = {}
    for name in names:
        if not _ALIAS_NAME.fullmatch(name):
            refused[name] = (
                f"{name!r}: this host name cannot name its key in the job's known_hosts nor "
                "be its HostKeyAlias (a comma, space, pattern or option character): "
                "nothing was run on it; rename it in the inventory.")
            continue
        ep = endpoints.get(name) or hostkeys.Endpoint(
            name=name, args=(), destination=name, known_hosts=(site,), lookup=name)
        if getattr(ep, "refusal", ""):
            refused[name] = str(ep.refusal)
            continue
        keys = set()
        for line in hostkeys.known_entries(ep):
            parts = line.split()
            if parts and not parts[0].startswith("@") and len(parts) >= 3:
                keys.add(f"{name} {parts[1]} {parts[2]}")
        if not keys:
            refused[name] = (
                f"the SSH host key of {name} is not known yet: nothing was run on it. Run "
                f"`esms-baseline trust PROFILE --host {name}` (or record its key in the "
                "site's known_hosts) before going through a worker.")
        lines += sorted(keys)
    return "".join(f"{ln}\n" for ln in lines), refused


#: ``ansible_connection`` values that go through ssh (and so through :data:`SSH_ARGS`).
SSH_CONNECTIONS = ("ssh", "ansible.builtin.ssh", "ansible.legacy.ssh")


def connection_refusals(connection_inventory: Path, names: Sequence[str]) -> dict[str, str]:
    """Hosts the worker's connection inventory connects to otherwise than by ssh (``local``,
    ``paramiko``..., a template): the job's host key verification (:data:`SSH_ARGS`) would
    not apply, so they get nothing (name -> message)."""
    from esms_baseline.plan import _ansible_inventory_list

    hostvars = (_ansible_inventory_list([connection_inventory]).get("_meta") or {}).get(
        "hostvars") or {}
    out: dict[str, str] = {}
    for name in names:
        conn = (hostvars.get(name) or {}).get("ansible_connection")
        if conn is not None and conn not in SSH_CONNECTIONS:
            out[name] = (f"{name}: the worker inventory {connection_inventory} sets "
                         f"ansible_connection={conn!r}: only ssh verifies the host's key "
                         "against the site's known_hosts; nothing was sent to it")
    return out


def build_check_job(private: Path, hosts: Sequence[str], platform: str, *,
                    connection_inventory: Path, known_hosts: str,
                    ssh_key: Path | None = None) -> None:
    """Fill the fresh private data dir ``private`` (paths relative to it)."""
    project = private / "project"
    project.mkdir()
    (project / "collect.yml").write_text(_PLAYBOOK, encoding="utf-8")
    command = " ".join(shlex.quote(a) for a in remote_argv(platform))
    (project / "collect-vars.yml").write_text(
        "# Written by esms-baseline for one remote check job.\n" + ansible_yaml.dump({
            "esms_collect_command": command,
            "ansible_ssh_args": ansible_yaml.Template(SSH_ARGS),
            # play vars beat the worker's inventory: its ansible_connection cannot skip ssh
            # (and the host key check above) with local/paramiko (connection_refusals)
            "ansible_connection": "ssh",
            # no pseudo-terminal: stdout is the collector's JSON alone, stderr apart
            "ansible_ssh_use_tty": False,
        }), encoding="utf-8")
    (project / "known_hosts").write_text(known_hosts, encoding="utf-8")
    inv = private / "inventory"
    inv.mkdir()
    shutil.copyfile(connection_inventory, inv / "00-connection.yml")
    (inv / "10-check.yml").write_text(
        "# Written by esms-baseline for one remote check job.\n"
        + ansible_yaml.dump({"all": {"children": {HOSTS_GROUP: {
            "hosts": {h: {} for h in hosts}}}}}), encoding="utf-8")
    if ssh_key is not None:
        env = private / "env"
        env.mkdir()
        shutil.copyfile(ssh_key, env / "ssh_key")
        os.chmod(env / "ssh_key", 0o600)


def _parse_facts(host: str, platform: str, stdout: str) -> dict[str, Any]:
    start = stdout.find("{")
    if start < 0:
        raise ValueError("no JSON in the collector's output")
    facts, _ = json.JSONDecoder().raw_decode(stdout[start:])
    facts = scrub_surrogates(facts)
    if not isinstance(facts, dict) or facts.get("platform") != platform:
        raise ValueError(f"collector output is not {platform} facts")
    return facts


def _message(res: Mapping[str, Any]) -> str:
    text = str(res.get("msg") or res.get("stderr") or res.get("stdout") or "").strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    rc = res.get("rc")
    if rc == 124:
        return "collector timed out on the host"
    return (f"collector exited {rc}: " if rc not in (None, 0) else "") + (
        lines[-1][:500] if lines else "no output")


def collect_on_worker(plan: CheckPlan, worker: Worker, *, connection_inventory: Path,
                      ssh_key: Path | None = None, forks: int = 20,
                      state_dir: Path | None = None,
                      timeout_seconds: float = 3600) -> WorkerFacts:
    """Run the collectors of the plan's hosts on the worker; return their facts."""
    got = WorkerFacts()
    for h in plan.hosts:
        if h.platform not in WORKER_PLATFORMS:
            got.errors[h.name] = f"{h.platform} hosts are not checked through a worker yet"
    known, refused = job_known_hosts(plan, state_dir)
    got.unreachable.update(refused)
    got.unreachable.update(connection_refusals(connection_inventory, [
        h.name for h in plan.hosts if h.name not in got.errors | got.unreachable]))
    platforms = {h.platform for h in plan.hosts if h.name not in got.errors | got.unreachable}
    for platform in sorted(platforms):
        names = [h.name for h in plan.hosts if h.platform == platform
                 and h.name not in got.errors | got.unreachable]
        _collect_platform(got, worker, platform, names, connection_inventory=connection_inventory,
                          ssh_key=ssh_key, known_hosts=known, forks=forks,
                          timeout_seconds=timeout_seconds)
    return got


def _collect_platform(got: WorkerFacts, worker: Worker, platform: str, names: list[str], *,
                      connection_inventory: Path, ssh_key: Path | None, known_hosts: str,
                      forks: int, timeout_seconds: float) -> None:
    def on_event(event: Mapping[str, Any]) -> None:
        data = event.get("event_data") or {}
        host, kind = data.get("host"), event.get("event")
        if host not in names:
            return
        res = data.get("res") or {}
        if kind == "runner_on_unreachable":
            got.unreachable[host] = f"{host}: {_message(res)}"
        elif kind == "runner_on_failed":
            got.errors[host] = f"{host}: {_message(res)}"
        elif kind == "runner_on_ok":
            try:
                got.facts[host] = _parse_facts(host, platform, str(res.get("stdout") or ""))
            except ValueError as exc:
                got.errors[host] = f"{host}: collector output: {exc}"

    private = Path(tempfile.mkdtemp(prefix="esms-checkjob-"))
    out = Path(tempfile.mkdtemp(prefix="esms-checkjob-out-"))
    try:
        build_check_job(private, names, platform, connection_inventory=connection_inventory,
                        known_hosts=known_hosts, ssh_key=ssh_key)
        kwargs = {
            "playbook": "collect.yml", "ident": IDENT, "forks": forks,
            "envvars": {"ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_NOCOLOR": "True",
                        "ANSIBLE_RETRY_FILES_ENABLED": "False"},
            "suppress_env_files": True,
        }
        got_stream = stream_job(worker, private, out, kwargs, on_event=on_event,
                                timeout_seconds=timeout_seconds)
        if got_stream.rc_ssh != 0 and not got_stream.ended:
            raise RunError(f"remote job: ssh to the worker {worker.destination} failed "
                           f"(exit {got_stream.rc_ssh}): {got_stream.stderr_tail or 'no message'}")
        if got_stream.errors and not got_stream.ended:
            raise RunError(f"remote job: the job stream failed: {got_stream.errors[0]}")
        if not got_stream.ended:
            raise RunError(f"remote job: the worker's run did not finish (status "
                           f"{got_stream.status}, rc {got_stream.rc})")
    finally:
        shutil.rmtree(private, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
    for n in names:
        if n not in got.facts and n not in got.errors and n not in got.unreachable:
            got.errors[n] = f"{n}: no result from the worker"


def check_remote(plan: CheckPlan, worker: Worker, *, connection_inventory: Path,
                 ssh_key: Path | None = None, forks: int = 20,
                 controls: Sequence[str] | None = None, junit_xml: Path | None = None,
                 facts_dir: Path | None = None, state_dir: Path | None = None) -> CheckResult:
    """Check ``plan`` with the facts collected on ``worker``: the same result as
    :func:`esms_baseline.conformance.check` (rows, verdicts, exit status)."""
    from dataclasses import replace

    from esms_baseline.conformance import check
    from esms_baseline.conformance.runner import selected_controls

    selected_controls(controls)  # an unknown id is a usage error before the worker is used
    got = collect_on_worker(plan, worker, connection_inventory=connection_inventory,
                            ssh_key=ssh_key, forks=forks, state_dir=state_dir)
    if facts_dir is not None:
        facts_dir.mkdir(parents=True, exist_ok=True)
        for name, facts in got.facts.items():
            (facts_dir / facts_file_name(name)).write_text(
                json.dumps(facts, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="esms-worker-facts-") as tmp:
        facts_file = Path(tmp) / "facts.json"
        # ASCII: a fact read with surrogateescape (\udcff) round-trips, UTF-8 cannot hold it
        facts_file.write_text(json.dumps(got.to_dict()), encoding="utf-8")
        result = check(plan, forks=forks, controls=controls, junit_xml=junit_xml,
                       facts_file=facts_file, state_dir=state_dir)
    return replace(result, details={**result.details, "worker": worker.destination})


__all__ = ["SSH_ARGS", "SSH_CONNECTIONS", "WorkerFacts", "build_check_job", "check_remote",
           "collect_on_worker", "connection_refusals", "job_known_hosts", "known_hosts_for"]
