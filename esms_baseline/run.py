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

from esms_baseline.errors import RunError
from esms_baseline.plan import Plan
from esms_baseline.resources import playbooks_dir, roles_dir
from esms_baseline.results import ApplyResult, HostApply, ManualAction, TaskOutcome
from esms_baseline.run_hosts import (
    ansible_playbook_path,
    refused_result,
    run_limit,
    verify_host_keys,
    write_run_group,
)
from esms_baseline.statedir import default_state_dir

CONTROL_PREFIX = re.compile(r"^(ESMS-[A-Z]{2,4}-\d{2})\b")
#: Tasks named "<control id> | Manual action | ..." report, in their msg, a condition left to a
#: person (roles never fail a host for it: the other controls are still enforced).
MANUAL_TASK = re.compile(r"^(ESMS-[A-Z]{2,4}-\d{2}) \| Manual action\b")
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
            name, {"ok": 0, "changed": 0, "failed": 0, "unreachable": False, "controls": {}, "errors": [],
                   "manual": []}
        )

    def record_manual(self, host: str, task: str, res: Mapping[str, Any]) -> None:
        """The manual actions a "Manual action" task reported (one per loop item)."""
        m = MANUAL_TASK.match(task)
        if not m:
            return
        results = res.get("results")
        items: list[Any] = list(results) if isinstance(results, list) else [res]
        for item in items:
            if isinstance(item, Mapping) and not item.get("skipped") and item.get("msg"):
                action = ManualAction(m.group(1), " ".join(str(item["msg"]).split()))
                if action not in self.host(host)["manual"]:
                    self.host(host)["manual"].append(action)

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


def _event_message(data: Mapping[str, Any]) -> str:
    res = data.get("res") or {}
    if not isinstance(res, Mapping):
        return ""
    msg = res.get("msg") or res.get("stderr") or ""
    return str(msg).strip().splitlines()[-1][:500] if msg else ""


#: Environment variables of ours a run passes on to ansible-runner (and that it records in
#: artifacts/<ident>/command); anything else is dropped. ``ANSIBLE_*`` (Ansible's own
#: settings) and ``LC_*`` are kept too.
RUN_ENV_ALLOWLIST = frozenset({
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TERM",
    "SSH_AUTH_SOCK", "KRB5CCNAME", "KRB5_CONFIG", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE",
})
#: Prefixes of the private temporary folders of a run (followed by the run's pid).
SECRETS_PREFIX = "esms-secrets-"
KEY_PREFIX = "esms-key-"
#: A leftover without a pid in its name (older versions) is removed once this old.
_LEGACY_LEFTOVER_SECONDS = 12 * 3600


def run_environment(env: Mapping[str, str], ours: Mapping[str, str]) -> dict[str, str]:
    """The environment of a run: what ansible-runner or we set (``ours``: every variable that
    is not a plain copy of this process's environment), and from this process's environment
    only the allowlisted names: no token, password or unrelated setting is passed or recorded."""
    kept: dict[str, str] = {}
    for k, v in env.items():
        inherited = os.environ.get(k) == v and k not in ours
        if not inherited or k in RUN_ENV_ALLOWLIST or k.startswith(("ANSIBLE_", "LC_")):
            kept[k] = v
    return kept


def _key_base_dir() -> str | None:
    """Where the one-time vault key goes: memory (/dev/shm) when usable, never the folder of
    the ciphertext."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_leftovers(bases: Sequence[str | None] = ()) -> list[Path]:
    """Remove the private folders (ciphertext, key) left by runs that were killed: ours
    (same uid) whose pid is gone, or older unnamed ones. Returns what was removed."""
    import time

    removed: list[Path] = []
    folders = {Path(b) for b in (*bases, tempfile.gettempdir(), _key_base_dir()) if b}
    pattern = re.compile(rf"^(?:{SECRETS_PREFIX}|{KEY_PREFIX})(?:(\d+)-)?")
    for base in folders:
        try:
            entries = list(base.iterdir())
        except OSError:
            continue
        for d in entries:
            m = pattern.match(d.name)
            if not m:
                continue
            try:
                st = d.lstat()
            except OSError:
                continue
            if st.st_uid != os.getuid() or not d.is_dir() or d.is_symlink():
                continue
            pid = int(m.group(1)) if m.group(1) else None
            stale = (not _pid_alive(pid)) if pid is not None else (
                time.time() - st.st_mtime > _LEGACY_LEFTOVER_SECONDS)
            if stale and pid != os.getpid():
                shutil.rmtree(d, ignore_errors=True)
                removed.append(d)
    return removed


@contextmanager
def _secret_material(plan: Plan, vault_password_file: Path | None) -> Iterator[list[str]]:
    """Yield extra ansible-playbook arguments that bring the run's secrets in, encrypted.

    Reads each environment variable the plan names; refuses to start if one is missing.
    The ciphertext and its one-time key live in two different private (0700) folders, the
    key in memory (/dev/shm) when possible; both are removed when the run ends, and the
    leftovers of a killed run by the next one (:func:`clean_leftovers`).
    """
    missing = [env for env in plan.secret_env.values() if not os.environ.get(env)]
    if missing:
        raise RunError(
            "secrets (initial passwords, the backup repository password) are read from the "
            "environment, but these variables are not set: "
            + ", ".join(sorted(set(missing)))
        )
    clean_leftovers()
    args: list[str] = []
    pid = os.getpid()
    tmp = Path(tempfile.mkdtemp(prefix=f"{SECRETS_PREFIX}{pid}-"))
    key_dir: Path | None = None
    try:
        os.chmod(tmp, 0o700)
        if plan.secret_env:
            from ansible.parsing.vault import VaultLib, VaultSecret

            from esms_baseline.profile import ansible_yaml

            key_dir = Path(tempfile.mkdtemp(prefix=f"{KEY_PREFIX}{pid}-", dir=_key_base_dir()))
            os.chmod(key_dir, 0o700)
            key = secrets.token_urlsafe(32)
            values = {var: os.environ[env] for var, env in plan.secret_env.items()}
            vault = VaultLib([("esmsrun", VaultSecret(key.encode()))])
            # !unsafe: a password holding "{{" is a password, never a template
            blob = vault.encrypt(ansible_yaml.dump(values), vault_id="esmsrun")
            secret_file = tmp / "secrets.yml"
            secret_file.write_bytes(blob)
            key_file = key_dir / "key"
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(key)
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
            from esms_baseline.vaultfile import check_vault_file

            check_vault_file(plan, vault_file, pw_file)
            args += ["--vault-id", f"site@{pw_file}", "-e", f"@{vault_file}"]
        yield args
    finally:
        if key_dir is not None:
            shutil.rmtree(key_dir, ignore_errors=True)
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
    trust_on_first_use: bool = False,
    state_dir: Path | None = None,
) -> ApplyResult:
    """Apply the plan's hosts with ansible-runner and return what happened, per host and control.

    ``controls`` restricts the run to those control ids (Ansible tags; the pre-flight lockout
    checks always run). ``check_mode`` with ``diff`` is a dry run that says what would change.
    ``extravars`` is for tests only (e.g. forcing a firewall ruleset).

    Host keys (docs/host-keys.md): each SSH host is first verified against the site's
    known_hosts (``state_dir``/known_hosts/<site>) and the inventory's own; a host whose key
    is unknown (unless ``trust_on_first_use``) or changed is left out of the run, before any
    secret exists, and reported unreachable with the reason.
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
    refused, keys_inventory = verify_host_keys(plan, site_inventory, state_dir, trust_on_first_use)
    if keys_inventory is not None:
        inventories.append(str(keys_inventory))
    run_hosts = [n for n in plan.host_names if n not in refused]
    if run_hosts:
        inventories.append(str(write_run_group(site_inventory.parent, run_hosts)))

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
            if kind == "runner_on_ok" and isinstance(res, Mapping):
                collector.record_manual(host, task, res)
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

    if not run_hosts:
        return refused_result(plan, refused, started, private, check_mode)
    with _secret_material(plan, vault_password_file) as secret_args, \
            tempfile.TemporaryDirectory(prefix="esms-cp-", ignore_cleanup_errors=True) as control_dir:
        cmdline += secret_args
        envvars = {
            "ANSIBLE_ROLES_PATH": str(roles_dir()),
            # every SSH host carries its verified known_hosts in ansible_ssh_args
            "ANSIBLE_HOST_KEY_CHECKING": "True",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_NOCOLOR": "True",
            "ANSIBLE_DISPLAY_SKIPPED_HOSTS": "False",
            "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
            # ssh control sockets of this run only: a master opened earlier by another
            # ansible command (maybe without host key checking) is never reused
            "ANSIBLE_SSH_CONTROL_PATH_DIR": control_dir,
            # never inherited: Ansible's debug output "can include secret information despite
            # no_log" (its own config doc), and kept remote files hold the module arguments
            # (a password given on stdin to chpasswd) on the host
            "ANSIBLE_DEBUG": "False",
            "ANSIBLE_KEEP_REMOTE_FILES": "False",
            # a host without ansible_connection uses OpenSSH (which gets the enforced host
            # key options), whatever an ansible.cfg or the environment says (paramiko)
            "ANSIBLE_TRANSPORT": "ssh",
            # Speed (docs/apply.md): one SSH round trip per module instead of ~4 (pipelining:
            # needs sudo without `requiretty`, Debian's default; set ANSIBLE_PIPELINING=False
            # for a site that sets it). The ssh arguments (no -C, one master per host) are set
            # per host with the enforced host key options (hostkeys.ANSIBLE_DEFAULT_SSH_ARGS).
            "ANSIBLE_PIPELINING": os.environ.get("ANSIBLE_PIPELINING", "True"),
        }
        envvars["PATH"] = str(Path(ansible_playbook_path()).parent) + os.pathsep + os.environ.get(
            "PATH", os.defpath
        )
        runner = ansible_runner.interface.init_runner(
            private_data_dir=str(private),
            playbook=str(playbooks_dir() / "site.yml"),
            inventory=inventories,
            limit=run_limit(run_hosts, refused),
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
        # ... and keep only what the run needs (allowlist): no unrelated token is passed on
        # to Ansible nor written beside the run.
        runner.config.env = run_environment(runner.config.env, envvars)
        runner.run()

    finished = _dt.datetime.now(_dt.UTC)
    stats: Mapping[str, Any] = runner.stats or {}
    results = []
    for h in plan.hosts:
        if h.name in refused:
            results.append(HostApply(host=h.name, unreachable=True, errors=(refused[h.name],)))
            continue
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
                manual_actions=tuple(c.get("manual", ())),
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


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)
