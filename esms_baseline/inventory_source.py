"""The site profile as an Ansible inventory: hosts, groups and every variable the roles need.

One function, :func:`site_inventory`, turns a :class:`~esms_baseline.plan.Plan` into the
inventory a run uses. The CLI writes it as a YAML file next to each run
(:meth:`Plan.write_inventory`); the ``esms_site`` inventory plugin
(``playbooks/inventory_plugins/esms_site.py``) builds it in memory from a ``site.yml`` through
:func:`profile_inventory`, so ``ansible-inventory -i site.yml`` and ``ansible-playbook -i
site.yml playbooks/site.yml`` (and AWX, which stores the exported variables) see exactly the
variables the CLI passes.

Secrets never sit in an inventory. The host variables name the run-time variable that holds
each secret (``initial_password_var``, ``esms_backup_password_var``), as in a CLI run. The
CLI fills those variables from a one-time Ansible Vault file (``esms_baseline.run``). An
inventory built for Ansible alone (``references=True``) adds, to the ``esms_site`` group:

- ``esms_secret_env``: run-time variable -> name of the environment variable that holds the
  value; the playbook reads the environment at run time (``lookup('ansible.builtin.env')``,
  ``no_log``) in its first task of the baseline play;
- ``esms_secrets_vault_file``: the profile's ``secrets.vault_file``, loaded by the playbook
  with ``include_vars`` (its password comes from ``--vault-password-file`` or the AWX Vault
  credential).

Names only: never a value, never a template (ansible-core 2.19 does not template strings an
inventory plugin returns, and AWX stores them as plain data).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from esms_baseline.errors import PlanError
from esms_baseline.plan import Plan, build_plan
from esms_baseline.profile.hostvars import resolve as resolve_host_vars

#: The group every planned host belongs to (its variables are the site's references).
SITE_GROUP = "esms_site"
#: Group variable: run-time variable -> environment variable holding the secret.
SECRET_ENV_VAR = "esms_secret_env"
#: Group variable: the profile's Ansible Vault file, loaded by the playbook.
VAULT_FILE_VAR = "esms_secrets_vault_file"
#: Name of the inventory plugin (``plugin: esms_site`` in a wrapper file).
PLUGIN_NAME = "esms_site"
#: Guards against a profile whose ``inventory.path`` leads back to a profile.
DEPTH_ENV = "ESMS_INVENTORY_DEPTH"
MAX_DEPTH = 2


@dataclass(frozen=True)
class SiteInventory:
    """A site's inventory: per host its connection variables and its role variables, the
    groups (name -> hosts) and group variables."""

    hosts: dict[str, dict[str, Any]]
    groups: dict[str, tuple[str, ...]]
    group_vars: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: connection variables (the profile's inline host vars, the connection inventory's):
    #: the MSP's own settings, which may hold templates (a vaulted password's variable)
    connection: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_document(self) -> dict[str, Any]:
        """The YAML inventory form (``all.children``). Written to a file for Ansible, it goes
        through ``esms_baseline.profile.ansible_yaml.dump`` (profile text ``!unsafe``)."""
        children: dict[str, Any] = {}
        for group, members in self.groups.items():
            node: dict[str, Any] = {"hosts": {}}
            for h in members:
                node["hosts"][h] = ({**self.connection.get(h, {}), **self.hosts[h]}
                                    if group == SITE_GROUP else None)
            if self.group_vars.get(group):
                node["vars"] = dict(self.group_vars[group])
            children[group] = node
        return {"all": {"children": children}}


def site_inventory(
    plan: Plan,
    *,
    references: bool = False,
    connection_vars: Mapping[str, Mapping[str, Any]] | None = None,
    secrets_from_env: bool = False,
) -> SiteInventory:
    """The inventory of ``plan``: every planned host with its connection variables (from the
    profile's inline host, or ``connection_vars``) and role variables, the ``esms_site`` group
    and the profile's groups. ``references``: add the secret references a run without the
    CLI resolves (see the module docstring). The profile's inline connection passwords
    (``{env:}``/``{vault:}`` references) become ``{{ variable }}`` filled by the run's one-time
    vault file, or with ``secrets_from_env`` (a check) an environment lookup
    (``esms_baseline.profile.hostvars.resolve``)."""
    hosts: dict[str, dict[str, Any]] = {}
    connection: dict[str, dict[str, Any]] = {}
    groups: dict[str, list[str]] = {SITE_GROUP: []}
    for h in plan.hosts:
        conn, _ = resolve_host_vars(h.connection_vars, from_env_lookup=secrets_from_env)
        connection[h.name] = {**(connection_vars or {}).get(h.name, {}), **conn}
        hosts[h.name] = dict(h.vars)  # role variables win over connection ones, as before
        groups[SITE_GROUP].append(h.name)
        for g in h.groups:
            if g == SITE_GROUP:
                raise PlanError(f"host {h.name}: the group name {SITE_GROUP!r} is reserved")
            groups.setdefault(g, []).append(h.name)
    group_vars: dict[str, dict[str, Any]] = {}
    if references:
        refs = secret_references(plan)
        if refs:
            group_vars[SITE_GROUP] = refs
    return SiteInventory(hosts=hosts, groups={g: tuple(m) for g, m in groups.items()},
                         group_vars=group_vars, connection=connection)


def secret_references(plan: Plan) -> dict[str, Any]:
    """Where a run without the CLI finds each secret: environment variable names and the
    vault file's path. Names only, never values."""
    refs: dict[str, Any] = {}
    if plan.secret_env:
        refs[SECRET_ENV_VAR] = dict(sorted(plan.secret_env.items()))
    if plan.profile.vault_file is not None:
        refs[VAULT_FILE_VAR] = str(plan.profile.vault_file)
    return refs


def profile_inventory(
    path: str | os.PathLike[str],
    *,
    inventory: Path | None = None,
    limit: str | None = None,
) -> SiteInventory:
    """Load and validate the profile at ``path`` (``ProfileError`` with every problem, as
    ``esms-baseline validate`` reports them), plan it and return its inventory with the secret
    references, and the connection variables of its connection inventory (``inventory``, or
    the profile's ``inventory.path``) so that the result is usable on its own."""
    from esms_baseline.plan import _ansible_inventory_list
    from esms_baseline.profile import load_profile

    depth = int(os.environ.get(DEPTH_ENV, "0") or 0)
    if depth >= MAX_DEPTH:
        raise PlanError(f"{path}: the profile's inventory leads back to a site profile "
                        f"(nested {depth} times): give a plain Ansible inventory")
    os.environ[DEPTH_ENV] = str(depth + 1)
    try:
        profile = load_profile(Path(path))
        plan = build_plan(profile, inventory=inventory, limit=limit)
        connection: dict[str, Mapping[str, Any]] = {}
        if plan.inventory_sources:
            hostvars = _ansible_inventory_list(plan.inventory_sources).get("_meta", {}).get(
                "hostvars", {})
            connection = {h: hostvars.get(h, {}) for h in plan.host_names}
    finally:
        if depth:
            os.environ[DEPTH_ENV] = str(depth)
        else:
            os.environ.pop(DEPTH_ENV, None)
    return site_inventory(plan, references=True, connection_vars=connection)


__all__ = ["PLUGIN_NAME", "SECRET_ENV_VAR", "SITE_GROUP", "VAULT_FILE_VAR", "SiteInventory",
           "profile_inventory", "secret_references", "site_inventory"]
