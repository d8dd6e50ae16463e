# esms-baseline: the site profile (site.yml) as an Ansible inventory source.
# SPDX-License-Identifier: EUPL-1.2
"""Inventory plugin ``esms_site``: a site profile becomes hosts, groups and role variables.

It is a collection-less plugin next to the playbooks: Ansible finds it with ``--playbook-dir
playbooks`` (or from a playbook in this folder), and through ``ansible.cfg`` at the project
root (``inventory_plugins``), which AWX reads for a project inventory source. See
docs/awx.md and docs/inventory.md.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: esms_site
short_description: esms-baseline site profile (site.yml) as an inventory source
description:
  - Reads an esms-baseline site profile, validates it exactly as C(esms-baseline validate)
    does (a wrong profile fails the inventory with file:line:column messages) and returns
    its hosts, its groups and every role variable the playbook needs (the plan of
    C(esms-baseline plan)).
  - "Two ways to select it. A wrapper file with C(plugin: esms_site) and C(profile: <path>)
    (relative to the wrapper), optionally C(connection_inventory: <path>), works with any
    Ansible configuration (the C(auto) plugin loads it). A raw C(site.yml) works when this
    plugin is enabled (the project's C(ansible.cfg) does it, ahead of the others)."
  - "Secrets never appear: hosts name the run-time variables; the C(esms_site) group carries
    C(esms_secret_env) (variable to environment variable name) and
    C(esms_secrets_vault_file); the playbook resolves them at run time."
  - Any other YAML file is handed to C(ansible.builtin.yaml), which C(ansible.cfg) leaves
    out of the enabled list so that it never reads a site profile as an inventory.
options: {}
"""

EXAMPLES = r"""
# sites/ehpad-tilleuls.inventory.yml
plugin: esms_site
profile: ehpad-tilleuls.yml
"""

import os
import sys
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin

_MAX_BYTES = 4 * 1024 * 1024


def _esms() -> Any:
    """Import esms_baseline: the installed one, else the checkout this plugin belongs to."""
    try:
        import esms_baseline.inventory_source as mod
    except ImportError:
        root = Path(__file__).resolve().parents[2]
        if not (root / "esms_baseline" / "__init__.py").is_file():
            raise
        sys.path.insert(0, str(root))
        import esms_baseline.inventory_source as mod
    return mod


def _kind(path: str) -> tuple[str, dict[str, Any]]:
    """'profile', 'wrapper' or 'other' (with the document for a wrapper)."""
    import yaml

    try:
        if os.path.getsize(path) > _MAX_BYTES:
            return "other", {}
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return "other", {}
    if not isinstance(data, dict):
        return "other", {}
    if data.get("plugin") == "esms_site":
        return "wrapper", data
    if "schema_version" in data and "site" in data:
        return "profile", {}
    return "other", {}


class InventoryModule(BaseInventoryPlugin):
    NAME = "esms_site"

    def verify_file(self, path: str) -> bool:
        if not super().verify_file(path):
            return False
        return os.path.splitext(path)[1] in (".yml", ".yaml")

    def parse(self, inventory: Any, loader: Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        kind, wrapper = _kind(path)
        if kind == "other":
            from ansible.plugins.loader import inventory_loader

            yaml_plugin = inventory_loader.get("ansible.builtin.yaml")
            if yaml_plugin is None or not yaml_plugin.verify_file(path):
                raise AnsibleParserError(f"{path}: neither a site profile nor a YAML inventory")
            yaml_plugin.parse(inventory, loader, path, cache)
            return
        mod = _esms()
        from esms_baseline.errors import EsmsError, ProfileError

        profile = path
        connection = None
        if kind == "wrapper":
            unknown = sorted(set(wrapper) - {"plugin", "profile", "connection_inventory"})
            if unknown or not isinstance(wrapper.get("profile"), str):
                raise AnsibleParserError(
                    f"{path}: an esms_site source has 'profile: <site.yml>' and optionally "
                    f"'connection_inventory: <inventory>'"
                    + (f"; unknown keys: {', '.join(map(str, unknown))}" if unknown else ""))
            base = Path(path).resolve().parent
            profile = str(base / wrapper["profile"])
            conn = wrapper.get("connection_inventory")
            if conn is not None:
                if not isinstance(conn, str):
                    raise AnsibleParserError(f"{path}: connection_inventory must be a path")
                connection = base / conn
        try:
            site = mod.profile_inventory(profile, inventory=connection)
        except ProfileError as exc:
            lines = [str(p) for p in exc.errors]
            raise AnsibleParserError(
                f"invalid site profile, {len(lines)} error(s); nothing can be applied:\n"
                + "\n".join(lines)) from None
        except EsmsError as exc:
            raise AnsibleParserError(f"{profile}: {exc}") from None
        for group in site.groups:
            self.inventory.add_group(group)
        for host, variables in site.hosts.items():
            self.inventory.add_host(host, group=mod.SITE_GROUP)
            # strings returned by a plugin are never templated by ansible-core 2.19
            for key, value in {**site.connection.get(host, {}), **variables}.items():
                self.inventory.set_variable(host, key, value)
        for group, members in site.groups.items():
            for host in members:
                self.inventory.add_child(group, host)
        for group, variables in site.group_vars.items():
            for key, value in variables.items():
                self.inventory.set_variable(group, key, value)
