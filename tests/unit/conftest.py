"""Fixtures of the unit tests: the recorded facts of a compliant Debian host and the role
variables it was applied with (fresh copies for each test: tests may mutate them)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.facts import Facts, load


@pytest.fixture
def compliant() -> Facts:
    return load("debian-compliant.json")  # type: ignore[no-any-return]


@pytest.fixture
def variables() -> dict[str, Any]:
    return load("vars-compliant.json")  # type: ignore[no-any-return]
