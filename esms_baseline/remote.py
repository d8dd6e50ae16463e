"""Remote execution: run the Ansible part of ``apply`` on a worker near the hosts, with
ansible-runner streaming (what AWX runs over Receptor)::

    ansible-runner transmit  ->  ssh worker 'ansible-runner worker --delete'  ->  process

One job = one fresh private data dir (``tempfile.mkdtemp``, mode 0700) holding only what the
job needs, with paths relative to it (the worker unpacks it elsewhere):

- ``project/site.yml`` and ``project/roles/`` (copies of the package's playbook and roles);
- ``inventory/``: the worker's connection inventory (addresses as the worker sees them,
  given by the caller) and the site inventory of the plan;
- ``env/ssh_key``: the key the worker connects to the hosts with (ansible-runner loads it
  into an ssh-agent for the job), ``env/passwords``: the one-time vault key, answered to the
  ``--vault-id esmsrun@prompt`` prompt; ``env/esms-secrets.yml``: the run's secrets,
  encrypted with that key. No secret is in the kwargs, the command line or the artifacts.

The job stream never touches the controller's disk: ``transmit`` writes into the ssh pipe
from a thread while ``process`` reads the worker's answer into a fresh artifacts folder. The
private data dir is removed as soon as it is sent; ``worker --delete`` removes the job's
folder on the worker at the end. ``process`` exits 0 even when the playbook failed: the result
comes from the artifacts (``status``, ``rc``) and the job events, read like a local run's.

The worker is reached by SSH with its host key checked against ``known_hosts`` (no secret
goes to a host whose identity is not verified); it needs ``ansible-runner`` and
``ansible-playbook`` (``Worker.venv`` puts its virtualenv's ``bin`` first on PATH).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from esms_baseline.errors import RunError
from esms_baseline.plan import Plan
from esms_baseline.profile import ansible_yaml
from esms_baseline.resources import playbooks_dir, roles_dir
from esms_baseline.results import ApplyResult, HostApply, TaskOutcome

IDENT = "job"
#: Collections the playbook uses besides ansible.builtin (= collections/requirements.yml);
#: a job carries them in ``project/collections`` (found next to the playbook).
COLLECTIONS = ("ansible.windows", "community.windows")
_VAULT_PROMPT = r"^Vault password \(esmsrun\):\s*?$"
_OUTCOMES = {
    "runner_on_ok": TaskOutcome.OK,
    "runner_on_failed": TaskOutcome.FAILED,
    "runner_on_unreachable": TaskOutcome.UNREACHABLE,
    "runner_on_skipped": TaskOutcome.SKIPPED,
}


@dataclass(frozen=True)
class Worker:
    """How to reach a worker: ``destination`` (``user@host``), its SSH port, the client key,
    the ``known_hosts`` file that holds its host key (checked strictly), and where its
    ansible-runner lives (``venv``: a virtualenv whose ``bin`` holds ansible-runner and
    ansible-playbook; None: both on the worker's PATH)."""

    destination: str
    known_hosts: Path
    port: int = 22
    identity_file: Path | None = None
    venv: str | None = None
    ssh: str = "ssh"

    def command(self) -> list[str]:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+@[A-Za-z0-9_.:-]+|[A-Za-z0-9_.:-]+",
                            self.destination):
            raise RunError(f"worker destination {self.destination!r}: expected user@host")
        if not self.known_hosts.is_file():
            raise RunError(f"worker: known_hosts file {self.known_hosts} does not exist: the "
                           f"worker's host key must be known before any secret is sent")
        cmd = [self.ssh, "-p", str(int(self.port)), "-o", "BatchMode=yes",
               "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={self.known_hosts}",
               "-o", "ControlMaster=no", "-o", "ControlPath=none", "-o", "LogLevel=ERROR"]
        if self.identity_file is not None:
            cmd += ["-i", str(self.identity_file), "-o", "IdentitiesOnly=yes"]
        runner = "ansible-runner"
        path = ""
        if self.venv:
            venv = shlex.quote(self.venv.rstrip("/"))
            runner, path = f"{venv}/bin/ansible-runner", f"PATH={venv}/bin:\"$PATH\" "
        # The job's own temporary folder (ansible-runner's private data dir, the SSH
        # masters to the hosts): when the job ends, whatever happens to it, its masters are
        # closed and the folder is removed.
        cleanup = ("for s in \"$t\"/cp/*; do [ -S \"$s\" ] && "
                   "ssh -o ControlPath=\"$s\" -O exit esms-job 2>/dev/null; done; rm -rf \"$t\"")
        remote = (f"t=$(mktemp -d) && trap '{cleanup}' EXIT && "
                  f"TMPDIR=\"$t\" ANSIBLE_SSH_CONTROL_PATH_DIR=\"$t/cp\" "
                  f"{path}{runner} worker --delete")
        return [*cmd, "--", self.destination, remote]


def _secret_files(plan: Plan, env_dir: Path, vault_password_file: Path | None,
                  project: Path) -> tuple[list[str], dict[str, str]]:
    """Write the run's secrets, encrypted with a one-time key, into the job; return the
    command-line arguments and the ``env/passwords`` answers."""
    missing = [e for e in plan.secret_env.values() if not os.environ.get(e)]
    if missing:
        raise RunError("secrets are read from the environment, but these variables are not "
                       "set: " + ", ".join(sorted(set(missing))))
    args: list[str] = []
    passwords: dict[str, str] = {}
    if plan.secret_env:
        from ansible.parsing.vault import VaultLib, VaultSecret

        key = secrets.token_urlsafe(32)
        values = {var: os.environ[env] for var, env in plan.secret_env.items()}
        blob = VaultLib([("esmsrun", VaultSecret(key.encode()))]).encrypt(
            yaml.safe_dump(values), vault_id="esmsrun")
        (env_dir / "esms-secrets.yml").write_bytes(blob)
        passwords[_VAULT_PROMPT] = key
        args += ["--vault-id", "esmsrun@prompt", "-e", "@../env/esms-secrets.yml"]
    if plan.profile.vault_file is not None:
        pw_file = vault_password_file or (Path(os.environ["ESMS_VAULT_PASSWORD_FILE"])
                                          if os.environ.get("ESMS_VAULT_PASSWORD_FILE") else None)
        if pw_file is None:
            raise RunError(f"the profile names the vault file {plan.profile.vault_file}: give "
                           f"its password file")
        shutil.copyfile(plan.profile.vault_file, project / "esms-site-vault.yml")
        passwords[r"^Vault password \(site\):\s*?$"] = pw_file.read_text().strip()
        args += ["--vault-id", "site@prompt", "-e", "@esms-site-vault.yml"]
    return args, passwords


def collection_dir(name: str) -> Path:
    """Where the controller's Ansible has collection ``name`` (``ns.coll``)."""
    import sys

    rel = Path("ansible_collections", *name.split("."))
    for entry in sys.path:
        if (Path(entry) / rel / "MANIFEST.json").is_file():
            return Path(entry) / rel
    raise RunError(f"collection {name} is not installed next to ansible-core")


def build_job(plan: Plan, private: Path, *, connection_inventory: Path,
              ssh_key: Path | None, vault_password_file: Path | None,
              known_hosts: str = "") -> list[str]:
    """Fill the fresh private data dir ``private``; return the extra command-line args.
    ``known_hosts``: the hosts' keys under their inventory names (``project/known_hosts``,
    enforced by :func:`host_key_extravars`)."""
    project = private / "project"
    shutil.copytree(roles_dir(), project / "roles",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copyfile(playbooks_dir() / "site.yml", project / "site.yml")
    (project / "known_hosts").write_text(known_hosts, encoding="utf-8")
    for name in COLLECTIONS:
        shutil.copytree(collection_dir(name),
                        project / "collections" / "ansible_collections" / name.replace(".", "/"),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "tests"))
    inv = private / "inventory"
    inv.mkdir()
    shutil.copyfile(connection_inventory, inv / "00-connection.yml")
    (inv / "10-site.yml").write_text(
        "# Written by esms-baseline for one remote job.\n"
        # every profile string !unsafe: never templated (profile/ansible_yaml.py)
        + ansible_yaml.dump(plan.inventory_document()),
        encoding="utf-8")
    env = private / "env"
    env.mkdir()
    if ssh_key is not None:
        shutil.copyfile(ssh_key, env / "ssh_key")
        os.chmod(env / "ssh_key", 0o600)
    args, passwords = _secret_files(plan, env, vault_password_file, project)
    if passwords:
        (env / "passwords").write_text(json.dumps(passwords), encoding="utf-8")
        os.chmod(env / "passwords", 0o600)
    return args


def job_host_keys(plan: Plan, state_dir: Path | None = None) -> tuple[str, dict[str, str]]:
    """The SSH hosts' known keys for the job, and the hosts refused (no key known: they get
    nothing). Keys: the site's file and the files the plan's connection inventories name, as
    for a local apply (docs/host-keys.md), under the hosts' inventory names."""
    from esms_baseline import hostkeys
    from esms_baseline.remote_check import known_hosts_for

    names = [h.name for h in plan.hosts if h.platform != "windows"]
    site = hostkeys.site_known_hosts(plan.profile.site.name, state_dir)
    endpoints = (hostkeys.inventory_endpoints(list(plan.inventory_sources), names, site)
                 if plan.inventory_sources and names else {})
    return known_hosts_for(plan.profile.site.name, names, endpoints, state_dir)


def host_key_extravars() -> dict[str, Any]:
    """Extra variables (the highest precedence) that make every SSH connection of the job
    verify the host's key against ``project/known_hosts`` under its inventory name."""
    from esms_baseline.remote_check import SSH_ARGS

    return {"ansible_ssh_args": SSH_ARGS}


def apply_remote(
    plan: Plan,
    worker: Worker,
    *,
    connection_inventory: Path,
    ssh_key: Path | None = None,
    controls: Sequence[str] | None = None,
    check_mode: bool = False,
    diff: bool = False,
    forks: int = 10,
    artifacts_dir: Path | None = None,
    vault_password_file: Path | None = None,
    timeout_seconds: float = 3600,
    extravars: Mapping[str, Any] | None = None,
    progress: Callable[[Any], None] | None = None,
) -> ApplyResult:
    """Apply ``plan`` through ``worker`` and return what happened, per host and control,
    exactly like :func:`esms_baseline.run.apply` (same result type and exit status)."""
    from esms_baseline.run import _Collector
    from esms_baseline.statedir import default_state_dir

    if not plan.hosts:
        raise RunError("no host to apply to")
    worker.command()  # a bad destination or a missing known_hosts: refused before anything
    started = _dt.datetime.now(_dt.UTC)
    known_hosts, refused = job_host_keys(plan)
    from esms_baseline.remote_check import connection_refusals

    refused.update(connection_refusals(connection_inventory, [
        h.name for h in plan.hosts if h.platform != "windows" and h.name not in refused]))
    if refused:  # they get nothing: not in the job's limit, unreachable in the result
        from dataclasses import replace

        plan = replace(plan, hosts=tuple(h for h in plan.hosts if h.name not in refused))
    left_out = tuple(HostApply(host=n, unreachable=True, errors=(m,)) for n, m in refused.items())
    if not plan.hosts:  # nothing is sent at all
        now = _dt.datetime.now(_dt.UTC)
        return ApplyResult(site=plan.profile.site.name, started=started, finished=now,
                           status="failed", hosts=left_out, artifacts_dir="",
                           check_mode=check_mode)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", plan.profile.site.name).strip("-").lower() or "site"
    out = (artifacts_dir or default_state_dir() / "runs").resolve() / slug / (
        started.strftime("%Y%m%dT%H%M%S%fZ") + ("-remote-check" if check_mode else "-remote"))
    out.mkdir(parents=True)
    os.chmod(out, 0o700)
    private = Path(tempfile.mkdtemp(prefix="esms-job-"))
    collector = _Collector()
    for h in plan.hosts:
        collector.host(h.name)
    stats: dict[str, Any] = {}
    try:
        args = build_job(plan, private, connection_inventory=connection_inventory,
                         ssh_key=ssh_key, vault_password_file=vault_password_file,
                         known_hosts=known_hosts)
        if check_mode:
            args.append("--check")
        if diff:
            args.append("--diff")
        kwargs: dict[str, Any] = {
            "playbook": "site.yml",
            "ident": IDENT,
            "limit": ",".join(plan.host_names),
            "forks": forks,
            "cmdline": " ".join(shlex.quote(a) for a in args),
            # SSH masters live in the job's temporary folder on the worker; the remote
            # command closes them when the job ends (Worker.command).
            "envvars": {"ANSIBLE_PIPELINING": "True",
                        "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_NOCOLOR": "True",
                        # the default connection, whatever the worker's ansible.cfg says
                        "ANSIBLE_TRANSPORT": "ssh",
                        "ANSIBLE_RETRY_FILES_ENABLED": "False",
                        "ANSIBLE_PYTHON_INTERPRETER": "auto_silent"},
            "extravars": {**dict(extravars or {}), **host_key_extravars()},
            "suppress_env_files": True,
        }
        if controls:
            kwargs["tags"] = ",".join([*controls, "always"])

        def on_event(event: Mapping[str, Any]) -> None:
            step = _record(collector, event, stats)
            if step is not None and progress is not None:
                progress(step)

        got = stream_job(worker, private, out, kwargs, on_event=on_event,
                         timeout_seconds=timeout_seconds)
    finally:
        shutil.rmtree(private, ignore_errors=True)
    status, rc = got.status, got.rc
    if got.rc_ssh != 0 and not stats:  # the job never ran to its end on the worker
        raise RunError(f"remote job: ssh to the worker failed (exit {got.rc_ssh}): "
                       f"{got.stderr_tail}")
    if got.errors:
        raise RunError(f"remote job: the job stream failed: {got.errors[0]}")
    if status == "successful" and rc not in (0, None):
        status = "failed"
    results = []
    for h in plan.hosts:
        c = collector.hosts.get(h.name, {})
        results.append(HostApply(
            host=h.name,
            ok=int((stats.get("ok") or {}).get(h.name, 0)),
            changed=int((stats.get("changed") or {}).get(h.name, 0)),
            failed=int((stats.get("failures") or {}).get(h.name, 0)),
            unreachable=bool(c.get("unreachable")) or h.name in (stats.get("dark") or {}),
            controls=dict(c.get("controls", {})),
            errors=tuple(c.get("errors", ())),
        ))
    results += left_out
    if not stats and status == "successful":
        status = "failed"  # a run without its final stats did not complete
    return ApplyResult(site=plan.profile.site.name, started=started,
                       finished=_dt.datetime.now(_dt.UTC), status=status, hosts=tuple(results),
                       artifacts_dir=str(out / "artifacts" / IDENT), check_mode=check_mode,
                       excepted={h.name: tuple(sorted(h.excepted)) for h in plan.hosts
                                 if h.excepted})


@dataclass(frozen=True)
class Streamed:
    """How a job's stream went: the worker's ``status``/``rc`` (from its artifacts: ``process``
    itself exits 0 even when the playbook failed), whether the play's final stats arrived
    (``ended``), ssh's exit status and the end of its stderr, and the exceptions of the
    transmit or process side. The callers decide what is an error for them."""

    status: str
    rc: int | None
    ended: bool
    rc_ssh: int | None
    stderr_tail: str
    errors: tuple[BaseException, ...]


def stream_job(worker: Worker, private: Path, out: Path, kwargs: Mapping[str, Any], *,
               on_event: Callable[[Mapping[str, Any]], None],
               timeout_seconds: float = 3600) -> Streamed:
    """Send the job in ``private`` to ``worker`` and read it back into ``out``: ansible-runner
    ``transmit`` | ``ssh worker 'ansible-runner worker --delete'`` | ``process``. Every event
    goes to ``on_event``; ssh is killed after ``timeout_seconds`` and never left running."""
    import ansible_runner

    ssh = subprocess.Popen(worker.command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    assert ssh.stdin is not None and ssh.stdout is not None and ssh.stderr is not None
    errors: list[BaseException] = []
    err_chunks: list[bytes] = []
    ended = [False]
    runner: Any = None
    rc_ssh: int | None = None

    def send() -> None:
        try:
            ansible_runner.run(private_data_dir=str(private), streamer="transmit",
                               _output=ssh.stdin, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - reported to the caller
            errors.append(exc)
        finally:
            try:
                ssh.stdin.close()  # type: ignore[union-attr]
            except OSError:
                pass

    def handler(event: Mapping[str, Any]) -> bool:
        if event.get("event") == "playbook_on_stats":
            ended[0] = True
        on_event(event)
        return True

    sender = threading.Thread(target=send, name="esms-transmit", daemon=True)
    sender.start()
    reader = threading.Thread(target=lambda: err_chunks.append(ssh.stderr.read()),  # type: ignore[union-attr]
                              daemon=True)
    reader.start()
    try:
        try:
            runner = ansible_runner.run(private_data_dir=str(out), streamer="process",
                                        _input=ssh.stdout, ident=IDENT, quiet=True,
                                        event_handler=handler)
        except Exception as exc:  # noqa: BLE001 - a broken stream: reported with ssh's error
            errors.append(exc)
        sender.join(timeout=60)
        try:
            rc_ssh = ssh.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            ssh.kill()
            rc_ssh = ssh.wait()
        reader.join(timeout=10)
    finally:
        if ssh.poll() is None:
            ssh.kill()
            ssh.wait()
        for pipe in (ssh.stdin, ssh.stdout, ssh.stderr):
            pipe.close()
    status, rc = _artifact_status(out / "artifacts" / IDENT, str(getattr(runner, "status", "")))
    return Streamed(status=status, rc=rc, ended=ended[0], rc_ssh=rc_ssh,
                    stderr_tail=b"".join(err_chunks).decode(errors="replace").strip()[-500:],
                    errors=tuple(errors))


def _record(collector: Any, event: Mapping[str, Any], stats: dict[str, Any]) -> Any:
    """Record one job event like a local run does; return its Progress step (or None)."""
    from esms_baseline.run import Progress, _event_message

    kind = event.get("event", "")
    data = event.get("event_data") or {}
    if kind == "playbook_on_stats":
        for key in ("ok", "changed", "failures", "dark", "skipped"):
            stats[key] = data.get(key) or {}
        return None
    outcome = _OUTCOMES.get(kind)
    host = data.get("host")
    if not host or outcome is None:
        return None
    if kind == "runner_on_failed" and data.get("ignore_errors"):
        outcome = TaskOutcome.OK
    res = data.get("res") or {}
    if outcome is TaskOutcome.OK and isinstance(res, Mapping) and res.get("changed"):
        outcome = TaskOutcome.CHANGED
    msg = (_event_message(data)
           if outcome in (TaskOutcome.FAILED, TaskOutcome.UNREACHABLE) else "")
    task = str(data.get("task") or "")
    collector.record(host, task, outcome, msg)
    return Progress(host=host, task=task, outcome=outcome, message=msg)


def _artifact_status(folder: Path, fallback: str) -> tuple[str, int | None]:
    """``status`` and ``rc`` as the worker reported them (``process`` itself exits 0)."""
    status = fallback
    rc: int | None = None
    try:
        status = (folder / "status").read_text().strip() or fallback
    except OSError:
        pass
    try:
        rc = int((folder / "rc").read_text().strip())
    except (OSError, ValueError):
        pass
    return status, rc


ApplyFn = Callable[..., ApplyResult]


def remote_apply_fn(worker: Worker, *, connection_inventory: Path,
                    ssh_key: Path | None = None) -> ApplyFn:
    """An ``apply``-compatible function that runs through ``worker`` (for the fleet)."""

    def fn(plan: Plan, **kwargs: Any) -> ApplyResult:
        # host keys of the hosts are the worker's business (its connection inventory): the
        # controller's first-contact recording does not apply there
        if kwargs.pop("trust_on_first_use", False):
            raise RunError("--trust-on-first-use does not apply with --worker: the worker "
                           "verifies the hosts' keys with its own connection inventory")
        return apply_remote(plan, worker, connection_inventory=connection_inventory,
                            ssh_key=ssh_key, **kwargs)

    return fn


__all__ = ["IDENT", "Streamed", "Worker", "apply_remote", "build_job", "remote_apply_fn",
           "stream_job"]
