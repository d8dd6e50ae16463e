"""Read host and group names from an Ansible inventory file (YAML or INI), without Ansible.

Only what validation needs: which hosts exist and which groups each belongs to (a host of a
child group also belongs to its parents). Dynamic inventories (scripts, plugins, folders)
are not read: ``read_inventory`` returns None and the name checks are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass
class AnsibleInventory:
    #: host -> its groups (direct groups first, then ancestors), in file order
    hosts: dict[str, list[str]] = field(default_factory=dict)
    host_vars: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: set[str] = field(default_factory=set)
    children: dict[str, list[str]] = field(default_factory=dict)

    def add(self, host: str, group: str | None, hvars: dict[str, Any] | None = None) -> None:
        groups = self.hosts.setdefault(host, [])
        if group and group not in groups and group not in ("all", "ungrouped"):
            groups.append(group)
        if hvars:
            self.host_vars.setdefault(host, {}).update(hvars)

    def resolve(self) -> dict[str, tuple[str, ...]]:
        parents: dict[str, list[str]] = {}
        for parent, kids in self.children.items():
            for kid in kids:
                parents.setdefault(kid, []).append(parent)
        out: dict[str, tuple[str, ...]] = {}
        for host, groups in self.hosts.items():
            seen: list[str] = []
            todo = list(groups)
            while todo:
                g = todo.pop(0)
                if g in seen or g in ("all", "ungrouped"):
                    continue
                seen.append(g)
                todo.extend(parents.get(g, []))
            out[host] = tuple(seen)
        return out


def read_inventory(path: Path) -> AnsibleInventory | None:
    if not path.is_file() or path.stat().st_size > 4 * 1024 * 1024:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if path.suffix in (".yml", ".yaml"):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            return None
        if not isinstance(data, dict):
            return None
        inv = AnsibleInventory()
        for name, body in data.items():
            _yaml_group(inv, str(name), body, 0)
        return inv
    return _ini(text)


def _yaml_group(inv: AnsibleInventory, name: str, body: Any, depth: int) -> None:
    if depth > 20:
        return
    if name not in ("all", "ungrouped"):
        inv.groups.add(name)
    if not isinstance(body, dict):
        return
    for host, hvars in (body.get("hosts") or {}).items():
        inv.add(str(host), name, hvars if isinstance(hvars, dict) else None)
    for child, cbody in (body.get("children") or {}).items():
        if name not in ("all", "ungrouped"):
            inv.children.setdefault(name, []).append(str(child))
        _yaml_group(inv, str(child), cbody, depth + 1)


_SECTION = re.compile(r"^\[([^\]:]+)(?::(\w+))?\]\s*$")


def _ini(text: str) -> AnsibleInventory | None:
    inv = AnsibleInventory()
    group: str | None = None
    kind: str | None = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].split(";", 1)[0].strip() if not raw.lstrip().startswith(
            ("#", ";")) else ""
        if not line:
            continue
        m = _SECTION.match(line)
        if m:
            group, kind = m.group(1).strip(), m.group(2)
            if group not in ("all", "ungrouped"):
                inv.groups.add(group)
            continue
        if kind == "vars":
            continue
        first, *rest = line.split()
        if kind == "children" and group:
            inv.children.setdefault(group, []).append(first)
            inv.groups.add(first)
            continue
        hvars = dict(item.split("=", 1) for item in rest if "=" in item)
        inv.add(first, group, hvars)
    return inv
