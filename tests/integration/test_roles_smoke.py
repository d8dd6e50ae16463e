"""Quick checks of the Ansible content (no lab): the site playbook parses and ansible-lint
passes with the production profile (config: .ansible-lint at the repo top)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CONTROL_IDS_DEBIAN = (
    "ESMS-LOCK-01",
    "ESMS-LOCK-02",
    "ESMS-LOCK-03",
    "ESMS-LOCK-04",
    "ESMS-PWD-01",
    "ESMS-PWD-02",
    "ESMS-PWD-03",
    "ESMS-PWD-04",
    "ESMS-ACC-01",
    "ESMS-ACC-02",
    "ESMS-ACC-03",
    "ESMS-ACC-04",
    "ESMS-ACC-05",
    "ESMS-ACC-06",
    "ESMS-UPD-01",
    "ESMS-UPD-02",
    "ESMS-UPD-03",
    "ESMS-FW-01",
    "ESMS-FW-02",
    "ESMS-FW-03",
)


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ANSIBLE_ROLES_PATH=str(REPO / "roles"), ANSIBLE_NOCOLOR="1")
    return subprocess.run(
        argv, check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )


def test_site_playbook_syntax() -> None:
    result = _run(
        [
            str(BIN / "ansible-playbook"),
            "--syntax-check",
            "-i",
            "localhost,",
            "-e",
            "@tests/data/vars/debian-lab.yml",
            "playbooks/site.yml",
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_ansible_lint_production_profile() -> None:
    if not (BIN / "ansible-lint").exists():
        pytest.skip("ansible-lint is not installed (pip install -e '.[dev]')")
    result = _run([str(BIN / "ansible-lint"), "--offline", "--nocolor"])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("control_id", CONTROL_IDS_DEBIAN)
def test_each_debian_control_has_its_task_file(control_id: str) -> None:
    found = list((REPO / "roles").glob(f"*/tasks/debian/{control_id}.yml"))
    assert len(found) == 1, f"{control_id}: task files {found}"
    role_debian = found[0].parents[1] / "debian.yml"
    text = role_debian.read_text()
    assert f"debian/{control_id}.yml" in text
    assert f"'{control_id}' not in esms_excepted_controls" in text


def test_task_names_start_with_a_control_id() -> None:
    import yaml

    bad = []
    for path in (REPO / "roles").glob("*/tasks/debian/*.yml"):
        control_id = path.stem.split("-apply")[0]
        for task in _tasks(yaml.safe_load(path.read_text()) or []):
            if not str(task.get("name", "")).startswith(f"{control_id} | "):
                bad.append(f"{path.relative_to(REPO)}: {task.get('name')!r}")
    assert not bad, "\n".join(bad)


def _tasks(items: list[dict[str, object]]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for item in items:
        out.append(item)
        for key in ("block", "rescue", "always"):
            children = item.get(key)
            if isinstance(children, list):
                out.extend(_tasks(children))
    return out
