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
