"""No secret the profile names reaches a run's artifacts, even one this run does not need.

The run targets a host that cannot be reached (a closed port on the control machine's own
loopback: nothing is ever run anywhere), so ansible-runner records its command and
environment and stops: exactly what must be checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from esms_baseline.plan import build_plan
from esms_baseline.profile import load_profile
from esms_baseline.run import apply
from tests.conftest import random_secrets_in_env

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "site.yml"


@pytest.fixture
def env_secrets() -> Iterator[dict[str, str]]:
    profile = load_profile(EXAMPLE)
    names = {u.initial_password.name for u in profile.accounts.users if u.initial_password}
    if profile.backup.password:
        names.add(profile.backup.password.name)
    with random_secrets_in_env(names) as values:
        yield values


def test_unneeded_secrets_are_not_recorded(env_secrets: dict[str, str], tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        "all:\n  hosts:\n    lab-02:\n      ansible_host: 127.0.0.1\n      ansible_port: 9\n"
        "      ansible_user: nobody\n      ansible_ssh_common_args: -o ConnectTimeout=3\n",
        encoding="utf-8",
    )
    # lab-02 does not back up: this run does not need the backup password.
    plan = build_plan(load_profile(EXAMPLE), inventory=inventory, limit="lab-02")
    assert "ESMS_BACKUP_PASSWORD" not in plan.secret_env.values()
    result = apply(plan, artifacts_dir=tmp_path / "runs", forks=1)
    assert result.hosts[0].unreachable
    blobs = [p.read_text(errors="replace") for p in (tmp_path / "runs").rglob("*") if p.is_file()]
    assert any("ansible-playbook" in b for b in blobs)  # the command was recorded
    for name, value in env_secrets.items():
        assert not any(value in b for b in blobs), f"{name} leaked into the artifacts"


def _unreachable_inventory(tmp_path: Path) -> Path:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        "all:\n  hosts:\n    lab-01:\n      ansible_host: 127.0.0.1\n      ansible_port: 9\n"
        "      ansible_user: nobody\n      ansible_ssh_common_args: -o ConnectTimeout=3\n",
        encoding="utf-8",
    )
    return inventory


def test_only_what_the_run_needs_is_passed_and_recorded(
    env_secrets: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ansible-runner records the run's environment (artifacts/<ident>/command): an
    allowlist, not a copy of ours; the vault key never sits beside its ciphertext."""
    import json
    import secrets

    unrelated = {"AWS_SECRET_ACCESS_KEY": secrets.token_hex(8),
                 "ESMS_TEST_UNRELATED_TOKEN": secrets.token_hex(8)}
    for k, v in unrelated.items():
        monkeypatch.setenv(k, v)
    # an Ansible setting that would leave module arguments (a password) on the host
    monkeypatch.setenv("ANSIBLE_KEEP_REMOTE_FILES", "1")
    # a default connection that ignores the enforced host key options
    monkeypatch.setenv("ANSIBLE_TRANSPORT", "paramiko")
    plan = build_plan(load_profile(EXAMPLE), inventory=_unreachable_inventory(tmp_path),
                      limit="lab-01")  # lab-01 backs up: every secret is needed
    assert len(plan.secret_env) == len(env_secrets)
    result = apply(plan, artifacts_dir=tmp_path / "runs", forks=1)
    assert result.hosts[0].unreachable
    (command_file,) = (tmp_path / "runs").rglob("command")
    recorded = json.loads(command_file.read_text())
    env = recorded["env"]
    assert not set(unrelated) & set(env) and not set(env_secrets) & set(env)
    assert {"PATH", "ANSIBLE_ROLES_PATH", "ANSIBLE_HOST_KEY_CHECKING"} <= set(env)
    assert env["ANSIBLE_HOST_KEY_CHECKING"] == "True"
    assert env["ANSIBLE_DEBUG"] == "False" and env["ANSIBLE_KEEP_REMOTE_FILES"] == "False"
    assert env["ANSIBLE_TRANSPORT"] == "ssh"
    # ssh control sockets of this run only (an earlier unverified master is never reused)
    control_dir = Path(env["ANSIBLE_SSH_CONTROL_PATH_DIR"])
    assert control_dir.name.startswith("esms-cp-") and not control_dir.exists()
    blobs = [p.read_text(errors="replace") for p in (tmp_path / "runs").rglob("*") if p.is_file()]
    for value in [*unrelated.values(), *env_secrets.values()]:
        assert not any(value in b for b in blobs)

    argv = recorded["command"]
    key = Path(next(a for a in argv if a.startswith("esmsrun@")).split("@", 1)[1])
    blob = Path(next(a for a in argv if a.startswith("@") and "secrets" in a)[1:])
    assert key.parent != blob.parent and key.parent.parent != blob.parent
    assert not key.exists() and not blob.exists() and not blob.parent.exists()


def test_leftovers_of_a_killed_run_are_removed_by_the_next(
    env_secrets: dict[str, str], tmp_path: Path
) -> None:
    """A run killed (SIGKILL) while its secrets exist leaves its private folders; the next
    run removes them (but never a live run's)."""
    import os
    import subprocess
    import sys
    import tempfile

    from esms_baseline.run import KEY_PREFIX, SECRETS_PREFIX, _key_base_dir, clean_leftovers

    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    inventory = _unreachable_inventory(tmp_path)
    code = (
        "import os, signal\n"
        "from pathlib import Path\n"
        "from esms_baseline.plan import build_plan\n"
        "from esms_baseline.profile import load_profile\n"
        "from esms_baseline.run import _secret_material\n"
        f"plan = build_plan(load_profile({str(EXAMPLE)!r}), inventory=Path({str(inventory)!r}), "
        "limit='lab-01')\n"
        "print(os.getpid(), flush=True)\n"
        "with _secret_material(plan, None):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env={**os.environ, "TMPDIR": str(tmpdir)},
                          check=False, capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr
    left = [*tmpdir.glob(f"{SECRETS_PREFIX}*"),
            *Path(_key_base_dir() or str(tmpdir)).glob(f"{KEY_PREFIX}*")]
    killed = [d for d in left if d.name.split("-")[2] == proc.stdout.strip()]
    assert len(killed) >= 2  # ciphertext and key folders of the killed run
    live = tmpdir / f"{SECRETS_PREFIX}{os.getppid()}-live"
    live.mkdir()

    old = tempfile.tempdir
    tempfile.tempdir = str(tmpdir)
    try:
        removed = clean_leftovers()
    finally:
        tempfile.tempdir = old
    assert set(killed) <= set(removed)
    assert not any(d.exists() for d in killed) and live.is_dir()
