"""Run: apply a plan with ansible-runner and turn its events into typed results.

Secrets: initial passwords and the backup repository password read from the environment are put, for the length of the run
only, into an Ansible Vault file encrypted with a one-time key, in a private temporary folder
outside the artifacts; the environment variables themselves are removed from the
environment ansible-runner records and passes on. Tasks that touch a secret are ``no_log``.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from esms_baseline.errors import RunError
from esms_baseline.plan import Plan
from esms_baseline.resources import playbooks_dir, roles_dir
from esms_baseline.results import ApplyResult, HostApply, TaskOutcome

CONTROL_PREFIX = re.compile(r"^(ESMS-[A-Z]{2,4}-\d{2})\b")
#: Environment variable naming a file that holds the Ansible Vault password of the profile.
VAULT_PASSWORD_FILE_ENV = "ESMS_VAULT_PASSWORD_FILE"

_RANK = {
    TaskOutcome.SKIPPED: 0,
    TaskOutcome.OK: 1,
    TaskOutcome.CHANGED: 2,
    TaskOutcome.FAILED: 3,
    TaskOutcome.UNREACHABLE: 4,
}


@dataclass(frozen=True)
class Progress:
    """One step of a running apply, for a progress display."""

    host: str
    task: str
    outcome: TaskOutcome
    message: str = ""


@dataclass
class _Collector:
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def host(self, name: str) -> dict[str, Any]:
        return self.hosts.setdefault(
            name, {"ok": 0, "changed": 0, "failed": 0, "unreachable": False, "controls": {}, "errors": []}
        )

    def record(self, host: str, task: str, outcome: TaskOutcome, message: str) -> None:
        h = self.host(host)
        if outcome is TaskOutcome.UNREACHABLE:
            h["unreachable"] = True
        if outcome is TaskOutcome.FAILED or outcome is TaskOutcome.UNREACHABLE:
            h["errors"].append(f"{task}: {message}" if message else task)
        m = CONTROL_PREFIX.match(task)
        if m:
            cid = m.group(1)
            prev = h["controls"].get(cid)
            if prev is None or _RANK[outcome] > _RANK[prev]:
                h["controls"][cid] = outcome


def default_state_dir() -> Path:
    env = os.environ.get("ESMS_STATE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "esms-baseline"


def _event_message(data: Mapping[str, Any]) -> str:
    res = data.get("res") or {}
    if not isinstance(res, Mapping):
        return ""
    msg = res.get("msg") or res.get("stderr") or ""
    return str(msg).strip().splitlines()[-1][:500] if msg else ""


@contextmanager
def _secret_material(plan: Plan, vault_password_file: Path | None) -> Iterator[list[str]]:
    """Yield extra ansible-playbook arguments that bring the run's secrets in, encrypted.

    Reads each environment variable the plan names; refuses to start if one is missing.
    """
    missing = [env for env in plan.secret_env.values() if not os.environ.get(env)]
    if missing:
        raise RunError(
            "secrets (initial passwords, the backup repository password) are read from the "
            "environment, but these variables are not set: "
            + ", ".join(sorted(set(missing)))
        )
    args: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="esms-secrets-"))
    try:
        os.chmod(tmp, 0o700)
        if plan.secret_env:
            from ansible.parsing.vault import VaultLib, VaultSecret

            key = secrets.token_urlsafe(32)
            values = {var: os.environ[env] for var, env in plan.secret_env.items()}
            vault = VaultLib([("esmsrun", VaultSecret(key.encode()))])
            blob = vault.encrypt(yaml.safe_dump(values), vault_id="esmsrun")
            secret_file = tmp / "secrets.yml"
            secret_file.write_bytes(blob)
            key_file = tmp / "key"
            key_file.write_text(key)
            os.chmod(key_file, 0o600)
            args += ["--vault-id", f"esmsrun@{key_file}", "-e", f"@{secret_file}"]
        vault_file = plan.profile.vault_file
        if vault_file is not None:
            pw_file = vault_password_file or (
                Path(os.environ[VAULT_PASSWORD_FILE_ENV]) if os.environ.get(VAULT_PASSWORD_FILE_ENV) else None
            )
            if pw_file is None:
                raise RunError(
                    f"the profile names the vault file {vault_file}: give its password file with "
                    f"--vault-password-file or {VAULT_PASSWORD_FILE_ENV}"
                )
            args += ["--vault-id", f"site@{pw_file}", "-e", f"@{vault_file}"]
        yield args
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def apply(
    plan: Plan,
    *,
    controls: Sequence[str] | None = None,
    check_mode: bool = False,
    diff: bool = False,
    forks: int = 10,
    artifacts_dir: Path | None = None,
    vault_password_file: Path | None = None,
    progress: Callable[[Progress], None] | None = None,
    extravars: Mapping[str, Any] | None = None,
) -> ApplyResult:
    """Apply the plan's hosts with ansible-runner and return what happened, per host and control.

    ``controls`` restricts the run to those control ids (Ansible tags; the pre-flight lockout
    checks always run). ``check_mode`` with ``diff`` is a dry run that says what would change.
    ``extravars`` is for tests only (e.g. forcing a firewall ruleset).
    """
    import ansible_runner

    if not plan.hosts:
        raise RunError("no host to apply to (check --limit and the inventory)")
    started = _dt.datetime.now(_dt.UTC)
    root = (artifacts_dir or default_state_dir() / "runs").resolve()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", plan.profile.site.name).strip("-").lower() or "site"
    ident = started.strftime("%Y%m%dT%H%M%S%fZ") + ("-check" if check_mode else "-apply")
    private = root / slug / ident
    private.mkdir(parents=True, exist_ok=True)
    os.chmod(private, 0o700)
    site_inventory = plan.write_inventory(private / "inventory")
    inventories = [str(p) for p in plan.inventory_sources] + [str(site_inventory)]

    collector = _Collector()
    for h in plan.hosts:
        collector.host(h.name)

    def on_event(event: Mapping[str, Any]) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        host = data.get("host")
        task = str(data.get("task") or "")
        outcome = {
            "runner_on_ok": TaskOutcome.OK,
            "runner_on_failed": TaskOutcome.FAILED,
            "runner_on_unreachable": TaskOutcome.UNREACHABLE,
            "runner_on_skipped": TaskOutcome.SKIPPED,
        }.get(kind)
        if host and outcome is not None:
            if kind == "runner_on_failed" and data.get("ignore_errors"):
                outcome = TaskOutcome.OK
            res = data.get("res") or {}
            if outcome is TaskOutcome.OK and isinstance(res, Mapping) and res.get("changed"):
                outcome = TaskOutcome.CHANGED
            message = _event_message(data) if outcome in (TaskOutcome.FAILED, TaskOutcome.UNREACHABLE) else ""
            collector.record(host, task, outcome, message)
            if progress is not None:
                progress(Progress(host=host, task=task, outcome=outcome, message=message))
        return True  # keep the event on disk (artifacts)

    cmdline: list[str] = []
    if check_mode:
        cmdline.append("--check")
    if diff:
        cmdline.append("--diff")
    tags = None
    if controls:
        tags = ",".join(list(controls) + ["always"])

    with _secret_material(plan, vault_password_file) as secret_args:
        cmdline += secret_args
        envvars = {
            "ANSIBLE_ROLES_PATH": str(roles_dir()),
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_NOCOLOR": "True",
            "ANSIBLE_DISPLAY_SKIPPED_HOSTS": "False",
            "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
            # Speed (docs/apply.md): one SSH round trip per module instead of ~4 (pipelining:
            # needs sudo without `requiretty`, Debian's default; set ANSIBLE_PIPELINING=False
            # for a site that sets it), and no zlib compression of the already zipped module
            # payloads. The SSH master per host stays (ControlPersist); its socket folder is
            # the inventory's ansible_control_path_dir when set (the lab sets one per lab).
            "ANSIBLE_PIPELINING": os.environ.get("ANSIBLE_PIPELINING", "True"),
            "ANSIBLE_SSH_ARGS": os.environ.get(
                "ANSIBLE_SSH_ARGS", "-o ControlMaster=auto -o ControlPersist=60s"
            ),
        }
        envvars["PATH"] = str(Path(_ansible_playbook()).parent) + os.pathsep + os.environ.get(
            "PATH", os.defpath
        )
        runner = ansible_runner.interface.init_runner(
            private_data_dir=str(private),
            playbook=str(playbooks_dir() / "site.yml"),
            inventory=inventories,
            limit=",".join(plan.host_names),
            tags=tags,
            forks=forks,
            cmdline=" ".join(_quote(a) for a in cmdline),
            envvars=envvars,
            extravars=dict(extravars or {}),
            event_handler=on_event,
            quiet=True,
            suppress_env_files=True,
            ident="run",
        )
        # The environment ansible-runner records in artifacts/<ident>/command is a copy of
        # ours: drop every variable the profile names for a secret (needed by this run or
        # not) before it is written; the run gets the ones it needs through the vault file.
        for env_name in plan.profile_secret_env | set(plan.secret_env.values()):
            runner.config.env.pop(env_name, None)
        runner.run()

    finished = _dt.datetime.now(_dt.UTC)
    stats: Mapping[str, Any] = runner.stats or {}
    results = []
    for h in plan.hosts:
        c = collector.hosts.get(h.name, {})
        unreachable = bool(c.get("unreachable")) or h.name in (stats.get("dark") or {})
        results.append(
            HostApply(
                host=h.name,
                ok=int((stats.get("ok") or {}).get(h.name, 0)),
                changed=int((stats.get("changed") or {}).get(h.name, 0)),
                failed=int((stats.get("failures") or {}).get(h.name, 0)),
                unreachable=unreachable,
                controls=dict(c.get("controls", {})),
                errors=tuple(c.get("errors", ())),
            )
        )
    return ApplyResult(
        site=plan.profile.site.name,
        started=started,
        finished=finished,
        status=str(runner.status),
        hosts=tuple(results),
        artifacts_dir=str(private / "artifacts" / "run"),
        check_mode=check_mode,
        excepted={h.name: tuple(sorted(h.excepted)) for h in plan.hosts if h.excepted},
    )


def _ansible_playbook() -> str:
    """The ansible-playbook of this environment (next to our Python), else the one on PATH:
    an installed esms-baseline runs its own pinned Ansible even when its bin folder is not
    on PATH."""
    import sys

    here = Path(sys.executable).parent / "ansible-playbook"
    if here.exists():
        return str(here)
    found = shutil.which("ansible-playbook")
    if not found:
        raise RunError("ansible-playbook not found: is ansible-core installed?")
    return found


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)
