"""Plan: turn a validated site profile into what Ansible and the check need.

For every host of the site: its platform, its groups, the role variables of the contract in
``docs/architecture.md`` (group overrides merged), and the controls excepted on it. The plan
also writes the Ansible inventory a run uses: the site's hosts and groups with those
variables, next to the connection inventory (the lab's, or the MSP's own).

Secrets never appear in a plan: a user's initial password is named by the variable that will
hold it at run time (``initial_password_var``); the run layer fills that variable from the
environment or Ansible Vault without writing the value in clear anywhere.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from esms_baseline import __version__
from esms_baseline.catalogue import load_catalogue
from esms_baseline.errors import PlanError
from esms_baseline.profile import SiteProfile

#: Prefix of the run-time variables that carry initial passwords read from the environment.
SECRET_VAR_PREFIX = "esms_secret_"
_WINDOWS_CONNECTIONS = {"winrm", "psrp"}


@dataclass(frozen=True)
class HostPlan:
    name: str
    platform: str
    groups: tuple[str, ...]
    vars: dict[str, Any]
    #: control id -> reason of the exception (with approver and expiry)
    excepted: dict[str, str]
    #: connection variables from the profile's inline host (if any)
    connection_vars: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    profile: SiteProfile
    hosts: tuple[HostPlan, ...]
    #: the connection inventories (lab or MSP), passed to Ansible before the site inventory
    inventory_sources: tuple[Path, ...]
    #: run-time variable name -> environment variable holding an initial password
    secret_env: dict[str, str]

    def host(self, name: str) -> HostPlan:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(name)

    @property
    def host_names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.hosts)

    def inventory_document(self) -> dict[str, Any]:
        """The site inventory: every planned host with its variables, and the site's groups."""
        hosts: dict[str, Any] = {}
        children: dict[str, Any] = {}
        for h in self.hosts:
            hosts[h.name] = {**h.connection_vars, **h.vars}
            for g in h.groups:
                children.setdefault(g, {"hosts": {}})["hosts"][h.name] = None
        return {"all": {"children": {"esms_site": {"hosts": hosts}, **children}}}

    def write_inventory(self, directory: Path) -> Path:
        """Write the site inventory into ``directory`` and return its path."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "esms-site.yml"
        path.write_text(
            "# Written by esms-baseline from the site profile; do not edit.\n"
            + yaml.safe_dump(self.inventory_document(), sort_keys=True, allow_unicode=True),
            encoding="utf-8",
        )
        return path


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _exception_reason(exc: Any) -> str:
    return f"{exc.reason} (approuvée par {exc.approved_by}, expire le {exc.expires.isoformat()})"


def _ansible_inventory_list(sources: Sequence[Path]) -> dict[str, Any]:
    exe = shutil.which("ansible-inventory", path=str(Path(sys.executable).parent)) or shutil.which(
        "ansible-inventory"
    )
    if not exe:
        raise PlanError("ansible-inventory not found: is ansible-core installed?")
    cmd = [exe, "--list"]
    for s in sources:
        cmd += ["-i", str(s)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise PlanError(f"cannot read inventory {', '.join(map(str, sources))}: {proc.stderr.strip()}")
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def _inventory_hosts(sources: Sequence[Path]) -> dict[str, tuple[tuple[str, ...], dict[str, Any]]]:
    """Hosts of Ansible inventories: name -> (groups, host vars)."""
    data = _ansible_inventory_list(sources)
    hostvars: dict[str, Any] = data.get("_meta", {}).get("hostvars", {})
    groups_of: dict[str, list[str]] = {}

    def walk(group: str, seen: frozenset[str]) -> None:
        node = data.get(group, {})
        for h in node.get("hosts", []):
            groups_of.setdefault(h, [])
            if group not in ("all", "ungrouped") and group not in groups_of[h]:
                groups_of[h].append(group)
        for child in node.get("children", []):
            if child not in seen:
                walk(child, seen | {child})
                for h in _all_hosts(data, child):
                    if group not in ("all", "ungrouped") and group not in groups_of.setdefault(h, []):
                        groups_of[h].append(group)

    walk("all", frozenset({"all"}))
    return {h: (tuple(groups_of.get(h, [])), dict(hostvars.get(h, {}))) for h in groups_of}


def _all_hosts(data: Mapping[str, Any], group: str) -> set[str]:
    node = data.get(group, {})
    hosts = set(node.get("hosts", []))
    for child in node.get("children", []):
        hosts |= _all_hosts(data, child)
    return hosts


def _select(names: Sequence[str], groups: Mapping[str, Sequence[str]], limit: str | None) -> list[str]:
    """Hosts matching a limit: comma- or colon-separated host or group names ('all' for all)."""
    if not limit:
        return list(names)
    wanted = [p.strip() for p in re.split(r"[,:]", limit) if p.strip()]
    chosen: list[str] = []
    unknown = []
    for w in wanted:
        matched = [n for n in names if n == w or w == "all" or w in groups.get(n, ())]
        if not matched:
            unknown.append(w)
        chosen += [m for m in matched if m not in chosen]
    if unknown:
        raise PlanError(f"--limit names no known host or group: {', '.join(unknown)}")
    return [n for n in names if n in chosen]


def host_vars(profile: SiteProfile, host: str, secret_vars: Mapping[str, str]) -> dict[str, Any]:
    """The role variables (docs/architecture.md contract) for one host of the site."""
    s = profile.settings_for(host)
    acc = profile.accounts
    mgmt = acc.management_account
    present = [u for u in acc.users if u.state == "present"]
    admins = [u.login for u in present if u.admin]
    users = []
    for u in acc.users:
        var = None
        if u.initial_password is not None:
            var = (
                u.initial_password.name
                if u.initial_password.kind == "vault"
                else secret_vars[u.login]
            )
        users.append(
            {
                "login": u.login,
                "full_name": u.full_name,
                "role": u.role,
                "groups": list(u.groups),
                "state": u.state,
                "admin": u.admin,
                "remove_home": u.remove_home,
                "initial_password_var": var,
            }
        )
    pw = s.passwords
    fw = s.firewall
    up = s.updates
    return {
        "esms_excepted_controls": sorted(profile.exceptions_for(host)),
        "esms_management_user": mgmt,
        "esms_site_name": profile.site.name,
        "esms_site_finess": profile.site.finess,
        "esms_baseline_version": __version__,
        # session lock
        "esms_session_lock_idle_minutes": s.session_lock.idle_minutes,
        "esms_session_lock_lock_delay_seconds": s.session_lock.lock_delay_seconds,
        # passwords
        "esms_passwords_min_length": pw.min_length,
        "esms_passwords_required_classes": list(pw.required_classes),
        "esms_passwords_min_classes": pw.min_classes,
        "esms_passwords_lockout_threshold": pw.lockout_threshold,
        "esms_passwords_lockout_unlock_minutes": pw.lockout_unlock_minutes,
        "esms_passwords_hash_method": pw.hash_method,
        "esms_passwords_max_age_days": pw.max_age_days,
        "esms_passwords_admin_max_age_days": pw.admin_max_age_days,
        "esms_passwords_aged_users": [u.login for u in present if not u.admin and u.login != mgmt],
        "esms_passwords_aged_admins": [u.login for u in present if u.admin and u.login != mgmt],
        # accounts
        "esms_accounts_users": users,
        "esms_accounts_forbidden_generic_logins": list(acc.forbidden_generic_logins),
        "esms_accounts_admins": admins,
        "esms_accounts_permit_root_ssh": False,
        # updates
        "esms_updates_scope": up.scope,
        "esms_updates_window_days": list(up.window_days),
        "esms_updates_window_start": up.window_start,
        "esms_updates_window_duration_minutes": up.window_duration_minutes,
        "esms_updates_reboot": up.reboot,
        # firewall
        "esms_firewall_allowed_services": [
            {"name": v.name, "port": v.port, "protocol": v.protocol, "sources": list(v.sources)}
            for v in fw.allowed_services
        ],
        "esms_firewall_management_sources": list(fw.management_sources),
        "esms_firewall_management_ports": list(fw.management_ports),
        "esms_firewall_rollback_seconds": fw.rollback_seconds,
    }


def build_plan(
    profile: SiteProfile,
    *,
    inventory: Path | None = None,
    limit: str | None = None,
    controls: Sequence[str] | None = None,
) -> Plan:
    """Plan a run of ``profile``.

    ``inventory`` overrides the profile's ``inventory.path`` as the connection inventory.
    ``limit`` restricts the hosts (host or group names); ``controls`` is checked against the
    catalogue here so that a typo is refused before anything runs.
    """
    if controls:
        known = set(load_catalogue().ids)
        bad = [c for c in controls if c not in known]
        if bad:
            raise PlanError(f"unknown control id(s): {', '.join(bad)}")
    source = inventory or profile.inventory.path
    sources: tuple[Path, ...] = ()
    if source is not None:
        if not source.exists():
            raise PlanError(f"inventory {source} does not exist")
        sources = (source.resolve(),)

    inline = profile.inventory.hosts
    if inline:
        names = list(inline)
        groups = {n: inline[n].groups for n in names}
        platforms = {n: inline[n].platform for n in names}
        conn = {n: dict(inline[n].vars) for n in names}
    elif sources:
        found = _inventory_hosts(sources)
        names = sorted(found)
        groups = {n: found[n][0] for n in names}
        platforms = {
            n: "windows" if found[n][1].get("ansible_connection") in _WINDOWS_CONNECTIONS else "debian"
            for n in names
        }
        conn = {n: {} for n in names}
    else:
        raise PlanError("the profile declares no host and no inventory: nothing to plan")

    selected = _select(names, groups, limit)
    secret_vars = {
        u.login: SECRET_VAR_PREFIX + "pw_" + _slug(u.login)
        for u in profile.accounts.users
        if u.initial_password is not None and u.initial_password.kind == "env"
    }
    secret_env = {
        secret_vars[u.login]: u.initial_password.name
        for u in profile.accounts.users
        if u.initial_password is not None and u.initial_password.kind == "env"
    }
    hosts = []
    for n in selected:
        excepted = {cid: _exception_reason(e) for cid, e in profile.exceptions_for(n).items()}
        hosts.append(
            HostPlan(
                name=n,
                platform=platforms[n],
                groups=tuple(groups[n]),
                vars=host_vars(profile, n, secret_vars),
                excepted=excepted,
                connection_vars=conn[n],
            )
        )
    return Plan(profile=profile, hosts=tuple(hosts), inventory_sources=sources, secret_env=secret_env)


def _evidence(ev: Any, max_age_months: int) -> dict[str, Any]:
    if ev is None:
        return {"date": None, "document": None, "owner": None, "max_age_months": max_age_months}
    return {
        "date": ev.date.isoformat() if ev.date else None,
        "document": ev.document,
        "owner": ev.owner,
        "max_age_months": max_age_months,
    }


def build_check_plan(
    profile: SiteProfile,
    inventory: Path | None = None,
    limit: str | None = None,
    *,
    today: Any = None,
) -> Any:
    """The conformance plan of ``profile``: each host with its expected variables and the
    testinfra connection derived from the Ansible inventory (one SSH connection per host)."""
    import datetime as _dt
    from urllib.parse import quote

    from esms_baseline.conformance.model import CheckPlan, CheckTarget

    plan = build_plan(profile, inventory=inventory, limit=limit)
    if plan.inventory_sources:
        inv = plan.inventory_sources[0]
    else:
        from esms_baseline.run import default_state_dir

        inv = plan.write_inventory(default_state_dir() / "inventories" / _slug(profile.site.name))
    targets = tuple(
        CheckTarget(
            name=h.name,
            platform=h.platform,
            testinfra_url=f"ansible://{h.name}?ansible_inventory={quote(str(inv), safe='/')}",
            vars=h.vars,
            excepted=h.excepted,
        )
        for h in plan.hosts
    )
    org = profile.organisation
    months = org.max_age_months
    return CheckPlan(
        site_name=profile.site.name,
        hosts=targets,
        organisation={
            "ESMS-ORG-01": _evidence(org.degraded_procedures, months),
            "ESMS-ORG-02": _evidence(org.awareness, months),
            "ESMS-ORG-03": _evidence(org.charter, months),
        },
        today=today or _dt.date.today(),
        baseline_version=__version__,
    )
