"""The repository as an AWX project: playbook discovery, collections/requirements.yml, the
execution environment (ansible-builder create, offline)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from esms_baseline.remote import COLLECTIONS, collection_dir

ROOT = Path(__file__).resolve().parents[2]
#: AWX lists as a playbook a .yml/.yaml file with a line that starts (after spaces and an
#: optional '-') with hosts:, include: or import_playbook: (or a vault header on line 1),
#: outside roles/, tasks/, group_vars/, host_vars/ and dot folders (awx/main/utils/ansible.py,
#: could_be_playbook; re-stated here, not copied).
_PLAY_LINE = re.compile(r"^\s*-?\s*(hosts|include|import_playbook):")
_SKIPPED_DIRS = {"roles", "tasks", "group_vars", "host_vars"}


def awx_playbooks(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.suffix not in (".yml", ".yaml") or not path.is_file():
            continue
        if any(p in _SKIPPED_DIRS or p.startswith(".") for p in rel.parts[:-1]):
            continue
        lines = path.read_text(encoding="utf-8", errors="ignore").splitlines()
        if any(_PLAY_LINE.match(line) for line in lines) or (
                lines and lines[0].startswith("$ANSIBLE_VAULT;")):
            found.append(str(rel))
    return found


def test_awx_discovers_the_playbook() -> None:
    found = awx_playbooks(ROOT)
    assert "playbooks/site.yml" in found
    # the playbook is a list of plays with hosts: (what AWX runs), valid YAML
    plays = yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text())
    assert isinstance(plays, list) and all("hosts" in p for p in plays)


def test_requirements_name_every_collection_the_roles_use() -> None:
    used = set()
    for path in [*ROOT.joinpath("roles").rglob("*.yml"), ROOT / "playbooks" / "site.yml"]:
        # comments left out: a documentation URL (learn.microsoft.com/.../microsoft.powershell.
        # localaccounts/...) names no collection
        text = re.sub(r"(?m)(^|\s)#.*$", "", path.read_text())
        for m in re.finditer(r"\b([a-z_]+)\.([a-z_]+)\.[a-z_]+\b", text):
            if m.group(1) in ("ansible", "community", "microsoft", "chocolatey") \
                    and m.group(2) not in ("builtin", "plugins", "cfg"):
                used.add(f"{m.group(1)}.{m.group(2)}")
    req = yaml.safe_load((ROOT / "collections" / "requirements.yml").read_text())
    names = {c["name"] for c in req["collections"]}
    assert used == names == set(COLLECTIONS)
    for c in req["collections"]:  # the installed versions satisfy the requirement
        import json

        from packaging.specifiers import SpecifierSet

        manifest = json.loads((collection_dir(c["name"]) / "MANIFEST.json").read_text())
        assert manifest["collection_info"]["version"] in SpecifierSet(c["version"])


@pytest.mark.slow
def test_ansible_builder_create_offline(tmp_path: Path) -> None:
    builder = Path(sys.executable).parent / "ansible-builder"
    if not builder.exists():
        pytest.skip("ansible-builder not installed (pip install -e '.[dev]')")
    ctx = tmp_path / "context"
    # offline: no proxy, no index; `create` only writes the build context
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    proc = subprocess.run([str(builder), "create", "-f", str(ROOT / "execution-environment.yml"),
                           "-c", str(ctx), "--output-filename", "Containerfile"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    spec = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    assert spec["version"] == 3
    containerfile = (ctx / "Containerfile").read_text()
    assert 'ANSIBLE_INSTALL_REFS="ansible-core>=2.19,<2.20 ansible-runner>=2.4,<3"' \
        in containerfile
    assert "python3.11" in containerfile
    assert "ansible-galaxy collection install" in containerfile
    assert yaml.safe_load((ctx / "_build" / "requirements.yml").read_text()) == yaml.safe_load(
        (ROOT / "collections" / "requirements.yml").read_text())
    pip = (ctx / "_build" / "requirements.txt").read_text().split()
    assert {p.split(">")[0].lower() for p in pip} >= {"pywinrm", "jsonschema", "pyyaml"}
    assert "openssh-clients" in (ctx / "_build" / "bindep.txt").read_text()
    shutil.rmtree(ctx)
