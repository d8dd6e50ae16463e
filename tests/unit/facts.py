"""Recorded fact documents (tests/data/facts) shared by the conformance rule tests: a
compliant Debian host, a fresh one, and the role variables the compliant one was applied
with (fixtures ``compliant`` and ``variables`` in tests/unit/conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "data" / "facts"
Facts = dict[str, Any]


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))
