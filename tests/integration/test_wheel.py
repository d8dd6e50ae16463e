"""The wheel carries the roles, playbooks, schemas and catalogue: an installed esms-baseline
works from any folder, not only from a checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        check=True, capture_output=True, text=True,
    )
    (whl,) = out.glob("esms_baseline-*.whl")
    return whl


def test_wheel_contains_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "esms_baseline/catalogue/controls.yml" in names
    assert "esms_baseline/_data/schemas/site-profile.schema.json" in names
    assert "esms_baseline/_data/playbooks/site.yml" in names
    assert any(n.startswith("esms_baseline/_data/roles/esms_firewall/tasks/") for n in names)
    assert "esms_baseline/py.typed" in names


@pytest.mark.slow
def test_installed_wheel_validates_and_lists_controls_outside_the_tree(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", str(wheel)],
        capture_output=True, text=True, check=False,
    )
    assert pip.returncode == 0, pip.stderr[-2000:]
    work = tmp_path / "elsewhere"
    work.mkdir()
    profile = work / "site.yml"
    shutil.copy(ROOT / "examples" / "site.yml", profile)
    exe = str(venv / "bin" / "esms-baseline")
    v = subprocess.run([exe, "validate", "site.yml"], cwd=work, capture_output=True, text=True,
                       check=False)
    assert v.returncode == 0, v.stdout + v.stderr
    c = subprocess.run([exe, "controls", "--socle", "4"], cwd=work, capture_output=True, text=True,
                       check=False)
    assert c.returncode == 0 and "ESMS-LOCK-01" in c.stdout, c.stderr
    # The installed package finds its own roles and schema, not the checkout's.
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "from esms_baseline.resources import roles_dir, schemas_dir; print(roles_dir()); print(schemas_dir())"],
        cwd=work, capture_output=True, text=True, check=True,
    ).stdout.split()
    assert all(str(venv) in w for w in where), where
    assert (Path(where[0]) / "esms_firewall").is_dir()
