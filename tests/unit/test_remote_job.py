"""What a remote job carries (esms_baseline.remote.build_job) and how the worker is reached;
the real run through a worker is tests/integration/test_profile_inventory_lab.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from esms_baseline.errors import RunError
from esms_baseline.plan import build_plan
from esms_baseline.profile import load_profile
from esms_baseline.remote import Worker, build_job
from tests.conftest import random_secrets_in_env

ROOT = Path(__file__).resolve().parents[2]


def test_job_holds_only_what_it_needs_and_no_clear_secret(tmp_path: Path) -> None:
    plan = build_plan(load_profile(ROOT / "examples" / "site.yml"))
    conn = tmp_path / "worker-inventory.yml"
    conn.write_text("all:\n  hosts:\n    lab-01: {ansible_host: 192.0.2.1}\n")
    key = tmp_path / "key"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nxyz\n")
    private = tmp_path / "job"
    private.mkdir()
    with random_secrets_in_env(plan.secret_env.values()) as values:
        args = build_job(plan, private, connection_inventory=conn, ssh_key=key,
                         vault_password_file=None)
    top = sorted(p.name for p in private.iterdir())
    assert top == ["env", "inventory", "project"]
    assert (private / "project" / "site.yml").is_file()
    assert (private / "project" / "roles" / "esms_accounts" / "tasks").is_dir()
    assert (private / "project" / "collections" / "ansible_collections" / "ansible" / "windows"
            / "MANIFEST.json").is_file()
    assert sorted(p.name for p in (private / "inventory").iterdir()) == [
        "00-connection.yml", "10-site.yml"]
    assert sorted(p.name for p in (private / "env").iterdir()) == [
        "esms-secrets.yml", "passwords", "ssh_key"]
    assert (private / "env" / "ssh_key").stat().st_mode & 0o077 == 0
    assert (private / "env" / "passwords").stat().st_mode & 0o077 == 0
    # paths relative to the private data dir (the worker unpacks it elsewhere)
    assert args == ["--vault-id", "esmsrun@prompt", "-e", "@../env/esms-secrets.yml"]
    assert not any(str(tmp_path) in a for a in args)
    # secrets: encrypted in the job, the key only in env/passwords (answered to the prompt)
    blob = (private / "env" / "esms-secrets.yml").read_text()
    assert blob.startswith("$ANSIBLE_VAULT;1.2;AES256;esmsrun")
    everything = "".join(p.read_text(errors="replace") for p in private.rglob("*")
                         if p.is_file() and "collections" not in p.parts)
    for v in values.values():
        assert v not in everything
    (prompt, answer), = json.loads((private / "env" / "passwords").read_text()).items()
    assert "esmsrun" in prompt and len(answer) >= 32
    from ansible.parsing.vault import VaultLib, VaultSecret

    clear = VaultLib([("esmsrun", VaultSecret(answer.encode()))]).decrypt(blob.encode())
    assert set(values.values()) <= set(clear.decode().replace(":", " ").split())


def test_missing_secret_refuses_before_anything_is_sent(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    plan = build_plan(load_profile(ROOT / "examples" / "site.yml"))
    for env in plan.secret_env.values():  # missing, whatever an earlier test left set
        monkeypatch.delenv(env, raising=False)
    private = tmp_path / "job"
    private.mkdir()
    with pytest.raises(RunError, match="ESMS_PW_"):
        build_job(plan, private, connection_inventory=ROOT / "examples" / "site.yml",
                  ssh_key=None, vault_password_file=None)


def test_worker_command(tmp_path: Path) -> None:
    kh = tmp_path / "known_hosts"
    with pytest.raises(RunError, match="host key must be known"):
        Worker("w@relay", known_hosts=kh).command()
    kh.write_text("relay ssh-ed25519 AAAA\n")
    for bad in ("w@relay;rm -rf /", "-oProxyCommand=x", "w@relay host"):
        with pytest.raises(RunError, match="expected user@host"):
            Worker(bad, known_hosts=kh).command()
    cmd = Worker("w@relay", known_hosts=kh, port=2222, venv="/opt/v env").command()
    assert "StrictHostKeyChecking=yes" in cmd and f"UserKnownHostsFile={kh}" in cmd
    assert cmd[cmd.index("--") + 1] == "w@relay"
    remote = cmd[-1]
    assert "'/opt/v env'/bin/ansible-runner worker --delete" in remote
    assert remote.startswith("t=$(mktemp -d) && trap ") and 'rm -rf "$t"' in remote


def test_unreachable_worker_fails_cleanly(tmp_path: Path) -> None:
    """A worker that does not answer: a RunError (the CLI exits non-zero), and the job's
    private data dir (secrets, key) is gone from the controller."""
    import socket
    import tempfile

    from esms_baseline.remote import apply_remote

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    kh = tmp_path / "known_hosts"
    kh.write_text(f"[127.0.0.1]:{port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n")
    plan = build_plan(load_profile(ROOT / "examples" / "site.yml"))
    from esms_baseline.hostkeys import site_known_hosts

    site_file = site_known_hosts(plan.profile.site.name)
    site_file.write_text("".join(  # known keys: the hosts would get the job
        f"{h} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"
        for h in plan.host_names))
    before = set(Path(tempfile.gettempdir()).glob("esms-job-*"))
    with random_secrets_in_env(plan.secret_env.values()), pytest.raises(
            RunError, match="ssh to the worker failed .exit 255.*Connection refused"):
        apply_remote(plan, Worker("w@127.0.0.1", known_hosts=kh, port=port),
                     connection_inventory=ROOT / "inventories" / "examples" / "mixed-site.yml",
                     artifacts_dir=tmp_path / "runs", timeout_seconds=60)
    assert set(Path(tempfile.gettempdir()).glob("esms-job-*")) == before
    # no key known for any host: nothing is sent (the dead worker is not even contacted)
    site_file.unlink()
    with random_secrets_in_env(plan.secret_env.values()):
        res = apply_remote(plan, Worker("w@127.0.0.1", known_hosts=kh, port=port),
                           connection_inventory=ROOT / "inventories" / "examples" / "mixed-site.yml",
                           artifacts_dir=tmp_path / "runs", timeout_seconds=60)
    assert res.exit_code == 3 and all(h.unreachable for h in res.hosts)
    assert all("not known yet" in h.errors[0] for h in res.hosts)
    assert set(Path(tempfile.gettempdir()).glob("esms-job-*")) == before
