"""The lab's state file (``state.json`` in the state dir): what was started, by PID.

It is written before and after every step of ``up`` so that ``down`` (or the next ``up``)
can clean up after a crash or a half-done run.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from esms_baseline.errors import LabError

STATE_VERSION = 1
STATE_FILE = "state.json"


@dataclass(frozen=True)
class HostRecord:
    name: str
    machine: str
    root: str
    upper: str
    work: str
    nspawn_pid: int | None = None
    leader_pid: int | None = None


@dataclass(frozen=True)
class LabState:
    lab_id: str
    suite: str
    desktop: bool
    base: str
    hosts: tuple[HostRecord, ...] = field(default_factory=tuple)
    version: int = STATE_VERSION

    def to_json(self) -> str:
        doc = asdict(self)
        doc["hosts"] = [asdict(h) for h in self.hosts]
        return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def _int_or_none(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise LabError(f"{where}: expected a positive integer or null, got {value!r}")
    return value


def _str(doc: dict[str, Any], key: str, where: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value:
        raise LabError(f"{where}.{key}: expected a non-empty string, got {value!r}")
    return value


def parse_state(text: str, source: str = STATE_FILE) -> LabState:
    """Parse a state file; raise :class:`LabError` naming what is wrong."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LabError(f"{source}: not valid JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise LabError(f"{source}: expected a JSON object")
    if doc.get("version") != STATE_VERSION:
        raise LabError(f"{source}: unsupported state version {doc.get('version')!r}")
    desktop = doc.get("desktop")
    if not isinstance(desktop, bool):
        raise LabError(f"{source}.desktop: expected true or false")
    raw_hosts = doc.get("hosts")
    if not isinstance(raw_hosts, list):
        raise LabError(f"{source}.hosts: expected a list")
    hosts: list[HostRecord] = []
    for i, h in enumerate(raw_hosts):
        where = f"{source}.hosts[{i}]"
        if not isinstance(h, dict):
            raise LabError(f"{where}: expected an object")
        hosts.append(
            HostRecord(
                name=_str(h, "name", where),
                machine=_str(h, "machine", where),
                root=_str(h, "root", where),
                upper=_str(h, "upper", where),
                work=_str(h, "work", where),
                nspawn_pid=_int_or_none(h.get("nspawn_pid"), f"{where}.nspawn_pid"),
                leader_pid=_int_or_none(h.get("leader_pid"), f"{where}.leader_pid"),
            )
        )
    return LabState(
        lab_id=_str(doc, "lab_id", source),
        suite=_str(doc, "suite", source),
        desktop=desktop,
        base=_str(doc, "base", source),
        hosts=tuple(hosts),
    )


def load_state(state_dir: Path) -> LabState | None:
    """The state of the lab in ``state_dir``, or None if it has none."""
    path = state_dir / STATE_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return parse_state(text, str(path))


def save_state(state_dir: Path, state: LabState) -> None:
    """Write the state file atomically."""
    write_atomic(state_dir / STATE_FILE, state.to_json())


def remove_state(state_dir: Path) -> None:
    (state_dir / STATE_FILE).unlink(missing_ok=True)


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
