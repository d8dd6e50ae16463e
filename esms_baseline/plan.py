"""Plan: turn a validated site profile into what Ansible and the check need.

For every host of the site: its platform, its groups, the role variables of the contract in
``docs/architecture.md`` (group overrides merged), and the controls excepted on it. The plan
also writes the Ansible inventory a run uses: the site's hosts and groups with those
variables, next to the connection inventory (the lab's, or the MSP's own).

Secrets never appear in a plan: a user's initial password is named by the variable that will
hold it at run time (``initial_password_var``), and so is the backup repository password
(``esms_backup_password_var``); the run layer fills those variables from the environment or
Ansible Vault without writing the value in clear anywhere.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from esms_baseline import __version__
from esms_baseline.catalogue import load_catalogue
from esms_baseline.conformance.model import CheckPlan, CheckTarget
from esms_baseline.errors import PlanError
from esms_baseline.profile import SiteProfile, ansible_yaml
from esms_baseline.profile.hostvars import (
    connection_inventory_problems,
    env_names,
    host_vars_problems,
)
from esms_baseline.profile.hostvars import resolve as resolve_host_vars
from esms_baseline.profile.providers import sector_vars
from esms_baseline.profile.text import variable_problems

#: Prefix of the run-time variables that carry initial passwords read from the environment.
SECRET_VAR_PREFIX = "esms_secret_"
_WINDOWS_CONNECTIONS = {"winrm", "psrp"}


def _connection(hostvars: Mapping[str, Any]) -> str:
    """The connection plugin's short name (``ansible.builtin.winrm`` -> ``winrm``)."""
    return str(hostvars.get("ansible_connection") or "ssh").rsplit(".", 1)[-1]


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
    #: run-time variable name -> environment variable holding a secret (an initial password,
    #: the backup repository password)
    secret_env: dict[str, str]

    def host(self, name: str) -> HostPlan:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(name)

    @property
    def profile_secret_env(self) -> frozenset[str]:
        """Every environment variable the profile names for a secret, needed by this run or
        not: none of them may be recorded in a run's artifacts."""
        refs = [u.initial_password for u in self.profile.accounts.users]
        refs.append(self.profile.backup.password)
        conn = {e for h in self.profile.inventory.hosts.values() for e in env_names(h.vars)}
        return frozenset(r.name for r in refs if r is not None and r.kind == "env") | conn

    @property
    def host_names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.hosts)

    def inventory_document(self, *, secrets_from_env: bool = False) -> dict[str, Any]:
        """The site inventory: every planned host with its variables, and the site's groups
        (built by ``esms_baseline.inventory_source.site_inventory``, which the ``esms_site``
        inventory plugin uses too). Connection passwords are ``{{ variable }}`` (filled by the
        run's one-time vault file); with ``secrets_from_env`` (a check) an environment lookup."""
        from esms_baseline.inventory_source import site_inventory

        return site_inventory(self, secrets_from_env=secrets_from_env).to_document()

    def write_inventory(self, directory: Path, *, secrets_from_env: bool = False) -> Path:
        """Write the site inventory into ``directory`` (private: 0700, the file 0600) and
        return its path."""
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = directory / "esms-site.yml"

        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            # profile values are data: !unsafe, never templated by Ansible (ansible_yaml)
            f.write("# Written by esms-baseline from the site profile; do not edit.\n"
                    + ansible_yaml.dump(self.inventory_document(secrets_from_env=secrets_from_env)))
        return path


def login_token(login: str) -> str:
    """An injective encoding of a login into a variable-name fragment: letters a-z and digits
    stay, every other character becomes ``_<hex code>_`` (``m-dupont`` -> ``m_2d_dupont``,
    ``m_dupont`` -> ``m_5f_dupont``): two different logins never share a secret variable."""
    return "".join(c if c in "abcdefghijklmnopqrstuvwxyz0123456789" else f"_{ord(c):x}_"
                   for c in login)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _exception_reason(exc: Any) -> str:
    return f"{exc.reason} (approuvée par {exc.approved_by}, expire le {exc.expires.isoformat()})"


#: While a fleet check prepares its sites (esms_baseline.fleet_check), each inventory is read
#: by ``ansible-inventory`` once, not once per use (plan, host keys) and per site. Key: the
#: sources with their size and modification time; None: no cache (the default).
_INVENTORY_CACHE: dict[tuple[Any, ...], str] | None = None


def _inventory_cache_key(sources: Sequence[Path]) -> tuple[Any, ...] | None:
    key: list[Any] = []
    for s in sources:
        try:
            st = Path(s).stat()
        except OSError:
            return None
        if not Path(s).is_file():  # a folder (host_vars/...) can change below its mtime
            return None
        key.append((str(Path(s).resolve()), st.st_size, st.st_mtime_ns))
    return tuple(key)


def _ansible_inventory_list(sources: Sequence[Path]) -> dict[str, Any]:
    cache, key = _INVENTORY_CACHE, _inventory_cache_key(sources)
    if cache is None or key is None:
        return _ansible_inventory_read(sources, None, None)
    with _INVENTORY_LOCKS_LOCK:
        lock = _INVENTORY_LOCKS.setdefault(key, threading.Lock())
    with lock:  # concurrent sites of one inventory wait for its one reading
        if key in cache:
            return dict(ansible_yaml.unwrap(json.loads(cache[key])))
        return _ansible_inventory_read(sources, cache, key)


_INVENTORY_LOCKS: dict[tuple[Any, ...], threading.Lock] = {}
_INVENTORY_LOCKS_LOCK = threading.Lock()


def cached_inventory_text(sources: Sequence[Path]) -> str | None:
    """The ``ansible-inventory --list`` output of ``sources`` already read in this
    :func:`inventories_read_once` block (unchanged since), else None."""
    cache, key = _INVENTORY_CACHE, _inventory_cache_key(sources)
    return cache.get(key) if cache is not None and key is not None else None


_INVENTORY_USERS = [0]


@contextlib.contextmanager
def inventories_read_once() -> Iterator[None]:
    """Within the block, an unchanged inventory file is read by ``ansible-inventory`` once
    (blocks may nest or overlap in threads: the cache lives while one is open)."""
    global _INVENTORY_CACHE
    with _INVENTORY_LOCKS_LOCK:
        _INVENTORY_USERS[0] += 1
        if _INVENTORY_CACHE is None:
            _INVENTORY_CACHE = {}
    try:
        yield
    finally:
        with _INVENTORY_LOCKS_LOCK:
            _INVENTORY_USERS[0] -= 1
            if _INVENTORY_USERS[0] == 0:
                _INVENTORY_CACHE = None
                _INVENTORY_LOCKS.clear()


def _ansible_inventory_read(sources: Sequence[Path], cache: dict[tuple[Any, ...], str] | None,
                            key: tuple[Any, ...] | None) -> dict[str, Any]:
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
    if cache is not None and key is not None:
        cache[key] = proc.stdout
    data: dict[str, Any] = ansible_yaml.unwrap(json.loads(proc.stdout))
    return data


def _inventory_hosts(sources: Sequence[Path], data: Mapping[str, Any] | None = None,
                     ) -> dict[str, tuple[tuple[str, ...], dict[str, Any]]]:
    """Hosts of Ansible inventories: name -> (groups, host vars)."""
    data = data if data is not None else _ansible_inventory_list(sources)
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
        "esms_passwords_min_age_days": 1,
        "esms_passwords_windows_history_size": 5,
        "esms_passwords_aged_users": [u.login for u in present if not u.admin and u.login != mgmt],
        "esms_passwords_aged_admins": [u.login for u in present if u.admin and u.login != mgmt],
        # accounts
        "esms_accounts_users": users,
        "esms_accounts_forbidden_generic_logins": list(acc.forbidden_generic_logins),
        "esms_accounts_admins": admins,
        "esms_accounts_permit_root_ssh": False,
        "esms_accounts_local_allowlist": list(acc.local_allowlist),
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
        "esms_firewall_windows_allow_rdp": False,
        "esms_firewall_windows_disable_other_rules": True,
        # antivirus (ESMS-AV-01/02)
        "esms_antivirus_enabled": s.antivirus.enabled,
        "esms_antivirus_scan": s.antivirus.scan,
        "esms_antivirus_max_signature_age_days": s.antivirus.max_signature_age_days,
        # backup (ESMS-BAK-01/02): the password travels by the NAME of its run-time variable
        **backup_vars(profile, s.backup_enabled),
        # banner (ESMS-BAN-01)
        "esms_banner_text": profile.banner.text if profile.banner else "",
        "esms_banner_charter_version": profile.banner.charter_version if profile.banner else "",
        # end of support (ESMS-UPD-04), providers' access (ESMS-PRV-01..03)
        **sector_vars(profile, host),
    }


#: Run-time variable that carries the backup repository password read from the environment.
BACKUP_PASSWORD_VAR = SECRET_VAR_PREFIX + "backup_password"


def backup_vars(profile: SiteProfile, enabled: bool) -> dict[str, Any]:
    """The esms_backup role variables of a host (``enabled``: backups apply to it)."""
    b = profile.backup
    password_var = None
    if b.password is not None:
        password_var = b.password.name if b.password.kind == "vault" else BACKUP_PASSWORD_VAR
    return {
        "esms_backup_enabled": enabled,
        "esms_backup_paths": list(b.paths),
        "esms_backup_repository": b.repository or "",
        "esms_backup_schedule": b.schedule,
        "esms_backup_max_age_hours": b.max_age_hours,
        "esms_backup_password_var": password_var,
        "esms_backup_retention_daily": b.retention_daily,
        "esms_backup_retention_weekly": b.retention_weekly,
        "esms_backup_retention_monthly": b.retention_monthly,
        "esms_backup_store_host_key": b.store_host_key or "",
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
    listed = _ansible_inventory_list(sources) if sources else {}
    if inline:
        names = list(inline)
        groups = {n: inline[n].groups for n in names}
        platforms = {n: inline[n].platform for n in names}
        conn = {n: dict(inline[n].vars) for n in names}
    elif sources:
        found = _inventory_hosts(sources, listed)
        names = sorted(found)
        groups = {n: found[n][0] for n in names}
        platforms = {
            n: "windows" if _connection(found[n][1]) in _WINDOWS_CONNECTIONS else "debian"
            for n in names
        }
        conn = {n: {} for n in names}
    else:
        raise PlanError("the profile declares no host and no inventory: nothing to plan")

    selected = _select(names, groups, limit)
    env_users = [
        (u.login, u.initial_password.name)
        for u in profile.accounts.users
        if u.initial_password is not None and u.initial_password.kind == "env"
    ]
    secret_vars = {login: SECRET_VAR_PREFIX + "pw_" + login_token(login) for login, _ in env_users}
    if len(set(secret_vars.values())) != len(secret_vars):  # cannot happen: login_token is injective
        raise PlanError("two accounts would share one initial-password variable")
    secret_env = {secret_vars[login]: env for login, env in env_users}
    # The backup repository password, from the environment, when a planned host backs up.
    backup_pw = profile.backup.password
    if backup_pw is not None and backup_pw.kind == "env" and any(
        profile.settings_for(n).backup_enabled for n in selected
    ):
        secret_env[BACKUP_PASSWORD_VAR] = backup_pw.name
    hosts = []
    problems: list[str] = []
    inventory_hostvars: dict[str, Any] = {}
    if sources:
        # Connection inventories may not set role internals (docs/trust.md).
        inventory_hostvars = listed.get("_meta", {}).get("hostvars", {})
        problems += connection_inventory_problems(
            ", ".join(map(str, sources)), {n: inventory_hostvars.get(n, {}) for n in selected})
    for n in selected:
        # The profile's host variables: connection settings only, passwords by reference.
        problems += host_vars_problems(n, conn[n])
        secret_env.update(resolve_host_vars(conn[n])[1])
        excepted = {cid: _exception_reason(e) for cid, e in profile.exceptions_for(n).items()}
        # a WinRM connection (from the profile or the inventory, FQCN or not) whatever the
        # platform: its certificate is the host's identity
        effective = {**inventory_hostvars.get(n, {}), **conn[n]}
        if platforms[n] == "windows" or _connection(effective) in _WINDOWS_CONNECTIONS:
            problems += _windows_connection_problems(n, effective)
        hosts.append(
            HostPlan(
                name=n,
                platform=platforms[n],
                groups=tuple(groups[n]),
                vars=_platform_vars(platforms[n], host_vars(profile, n, secret_vars)),
                excepted=excepted,
                connection_vars=conn[n],
            )
        )
    for h in hosts:  # values that would change the meaning of a generated file (docs/trust.md)
        problems += variable_problems(h.name, h.vars)
    if problems:
        raise PlanError("unsafe connection settings or values:\n  " + "\n  ".join(problems))
    return Plan(profile=profile, hosts=tuple(hosts), inventory_sources=sources, secret_env=secret_env)


def _platform_vars(platform: str, variables: dict[str, Any]) -> dict[str, Any]:
    """Windows hosts also get their desired state (registry, security policy, rules),
    computed here once from the same variables: the tasks and the check both read it."""
    # backup.paths mixes platforms (/srv/... and C:\...): each host gets those of its own
    paths = [str(x) for x in variables.get("esms_backup_paths", [])]
    if platform != "windows":
        posix = [x for x in paths if x.startswith("/")]
        if variables.get("esms_backup_enabled") and paths and not posix:
            raise PlanError(f"ESMS-BAK-01: backup.paths {paths} has no Debian path (/...) for a "
                            "Debian host the profile backs up")
        return {**variables, "esms_backup_paths": posix}
    variables = {**variables, "esms_backup_paths": [x for x in paths if not x.startswith("/")]}
    from esms_baseline.windows.desired import DesiredStateError, render_desired_state

    try:
        return {**variables, "esms_windows_desired": render_desired_state(variables),
                # runas to SYSTEM: the only become ansible-core's PowerShell exec wrapper
                # accepts (executor/powershell/module_manifest.py); written in the site
                # inventory, it wins over an inventory-wide ansible_become_method: sudo.
                "ansible_become_method": "ansible.builtin.runas",
                "ansible_become_user": "SYSTEM"}
    except DesiredStateError as exc:
        raise PlanError(str(exc)) from exc


def _windows_connection_problems(name: str, hostvars: Mapping[str, Any]) -> list[str]:
    """WinRM settings that are weaker than HTTPS with certificate validation and message
    encryption, unless the host gives a reason (esms_winrm_weaker_connection_reason)."""
    from esms_baseline.windows.connection import connection_problems

    return connection_problems(name, hostvars)


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
    today: _dt.date | None = None,
) -> CheckPlan:
    """The conformance plan of ``profile``: each host with its expected variables and the
    testinfra connection derived from the Ansible inventory (one SSH connection per host)."""
    from urllib.parse import quote

    plan = build_plan(profile, inventory=inventory, limit=limit)
    if plan.inventory_sources:
        inv = plan.inventory_sources[0]
    else:
        from esms_baseline.statedir import default_state_dir

        inv = plan.write_inventory(default_state_dir() / "inventories" / _slug(profile.site.name),
                                   secrets_from_env=True)
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
