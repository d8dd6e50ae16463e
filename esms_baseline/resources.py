"""Where the package's data lives: the Ansible roles, playbooks, schemas and examples.

In a source checkout they sit at the top of the repository; in an installed wheel they are
carried inside the package under ``_data/`` (see ``pyproject.toml``).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def data_root() -> Path:
    """The folder that holds ``roles/``, ``playbooks/``, ``schemas/`` and ``examples/``."""
    installed = _PACKAGE_DIR / "_data"
    if (installed / "roles").is_dir():
        return installed
    return _PACKAGE_DIR.parent


def roles_dir() -> Path:
    return data_root() / "roles"


def playbooks_dir() -> Path:
    return data_root() / "playbooks"


def schemas_dir() -> Path:
    return data_root() / "schemas"


def examples_dir() -> Path:
    return data_root() / "examples"


def catalogue_dir() -> Path:
    return _PACKAGE_DIR / "catalogue"
