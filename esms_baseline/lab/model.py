"""The public view of a lab: :class:`Lab` and its :class:`LabHost` s."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

MANAGEMENT_USER = "esms-admin"


@dataclass(frozen=True)
class LabHost:
    """One lab host. ``state`` is what its systemd says (``running``, ``degraded``,
    ``starting``...) or ``stopped`` when its container is gone; ``root`` is the merged
    overlay directory (its root filesystem as seen from the control machine)."""

    name: str
    state: str
    leader_pid: int | None
    root: Path


@dataclass(frozen=True)
class Lab:
    """A set of lab hosts and the files to reach them."""

    state_dir: Path
    hosts: tuple[LabHost, ...]
    inventory_path: Path
    ssh_config_path: Path
    private_key: Path
    management_user: str = MANAGEMENT_USER

    def host(self, name: str) -> LabHost:
        for h in self.hosts:
            if h.name == name:
                return h
        from esms_baseline.errors import LabError

        raise LabError(f"no host {name!r} in the lab at {self.state_dir}")

    def testinfra_hosts(self) -> list[str]:
        """Host specs for pytest-testinfra's ssh backend (through our ssh_config, sudo)."""
        cfg = quote(str(self.ssh_config_path), safe="/")
        return [f"ssh://{h.name}?ssh_config={cfg}&sudo=true" for h in self.hosts]
