"""The typed site profile: frozen dataclasses built from a validated profile document.

Every value is the *effective* one: defaults from the catalogue applied, the password preset
resolved (explicit fields override it). :meth:`SiteProfile.settings_for` merges the group
overrides of one host.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, cast

from esms_baseline.catalogue import Preset, load_catalogue

DEFAULT_PRESET = "cnil-2022-case2"
#: Sections a group may override (firewall: only allowed_services; backup: only enabled).
OVERRIDABLE = ("session_lock", "passwords", "updates", "firewall", "antivirus", "backup")


@dataclass(frozen=True)
class SecretRef:
    kind: Literal["env", "vault"]
    name: str


@dataclass(frozen=True)
class Site:
    name: str
    finess: str
    msp_name: str | None
    msp_contact: str | None


@dataclass(frozen=True)
class HostSpec:
    name: str
    groups: tuple[str, ...]
    platform: Literal["debian", "windows"]
    vars: dict[str, Any]


@dataclass(frozen=True)
class GroupSpec:
    name: str
    overrides: dict[str, Any]


@dataclass(frozen=True)
class InventorySpec:
    path: Path | None
    hosts: dict[str, HostSpec]
    groups: dict[str, GroupSpec]


@dataclass(frozen=True)
class SessionLock:
    idle_minutes: int
    lock_delay_seconds: int


@dataclass(frozen=True)
class PasswordPolicy:
    preset: str | None
    min_length: int
    required_classes: tuple[str, ...]
    min_classes: int
    lockout_threshold: int
    lockout_unlock_minutes: int
    max_age_days: int
    admin_max_age_days: int
    hash_method: Literal["yescrypt", "sha512"]


@dataclass(frozen=True)
class User:
    login: str
    full_name: str
    role: str | None
    groups: tuple[str, ...]
    state: Literal["present", "departed"]
    admin: bool
    remove_home: bool
    initial_password: SecretRef | None


@dataclass(frozen=True)
class Accounts:
    management_account: str
    users: tuple[User, ...]
    forbidden_generic_logins: tuple[str, ...]
    #: ESMS-ACC-07: known local accounts that may stay interactive without being users
    local_allowlist: tuple[str, ...] = ()

    @property
    def admins(self) -> tuple[str, ...]:
        """Logins of the declared admins who are present."""
        return tuple(u.login for u in self.users if u.admin and u.state == "present")


@dataclass(frozen=True)
class Updates:
    scope: Literal["security", "all"]
    window_days: tuple[str, ...]
    window_start: str
    window_duration_minutes: int
    reboot: Literal["never", "in_window"]


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    protocol: Literal["tcp", "udp"]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Firewall:
    default_inbound: Literal["deny"]
    management_sources: tuple[str, ...]
    management_ports: tuple[int, ...]
    allowed_services: tuple[Service, ...]
    rollback_seconds: int


@dataclass(frozen=True)
class Antivirus:
    enabled: bool
    scan: Literal["on_access", "scheduled"]
    max_signature_age_days: int


@dataclass(frozen=True)
class Backup:
    enabled: bool
    paths: tuple[str, ...]
    repository: str | None
    schedule: str
    max_age_hours: int
    password: SecretRef | None
    retention_daily: int
    retention_weekly: int
    retention_monthly: int
    hosts: tuple[str, ...]
    groups: tuple[str, ...]
    #: the sftp store's SSH public key ("type base64"), pinned on the hosts; None: first use
    store_host_key: str | None = None


@dataclass(frozen=True)
class Banner:
    charter_version: str
    text: str


@dataclass(frozen=True)
class Evidence:
    document: str | None
    date: datetime.date | None
    owner: str | None


@dataclass(frozen=True)
class Organisation:
    max_age_months: int
    degraded_procedures: Evidence | None
    awareness: Evidence | None
    charter: Evidence | None


@dataclass(frozen=True)
class ControlException:
    control: str
    hosts: tuple[str, ...]
    groups: tuple[str, ...]
    reason: str
    approved_by: str
    expires: datetime.date


@dataclass(frozen=True)
class HostSettings:
    session_lock: SessionLock
    passwords: PasswordPolicy
    updates: Updates
    firewall: Firewall
    antivirus: Antivirus
    backup_enabled: bool


@dataclass(frozen=True)
class SiteProfile:
    path: Path
    schema_version: int
    site: Site
    inventory: InventorySpec
    session_lock: SessionLock
    passwords: PasswordPolicy
    accounts: Accounts
    updates: Updates
    firewall: Firewall
    antivirus: Antivirus
    backup: Backup
    banner: Banner | None
    organisation: Organisation
    exceptions: tuple[ControlException, ...]
    vault_file: Path | None
    raw: Mapping[str, Any]
    #: host -> groups read from the Ansible inventory named by inventory.path (direct groups
    #: then their parents); empty for an inline inventory or an unreadable one
    inventory_groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def hosts(self) -> tuple[str, ...]:
        """Host names: the inline ones, else those read from the Ansible inventory."""
        return tuple(self.inventory.hosts) or tuple(self.inventory_groups)

    def groups_of(self, host: str) -> tuple[str, ...]:
        spec = self.inventory.hosts.get(host)
        if spec is not None:
            return spec.groups
        return tuple(self.inventory_groups.get(host, ()))

    def settings_for(self, host: str) -> HostSettings:
        """The settings of ``host``: the site's, with its groups' overrides merged in the
        order of the host's groups (allowed services of groups are added to the site's)."""
        overrides = [
            self.inventory.groups[g].overrides
            for g in self.groups_of(host)
            if g in self.inventory.groups
        ]
        raw = merged_sections(self.raw, overrides)
        backup_enabled = bool(raw["backup"].get("enabled", False))
        if backup_enabled and (self.backup.hosts or self.backup.groups):
            backup_enabled = host in self.backup.hosts or bool(
                set(self.groups_of(host)) & set(self.backup.groups)
            )
        return HostSettings(
            session_lock=build_session_lock(raw["session_lock"]),
            passwords=build_passwords(raw["passwords"]),
            updates=build_updates(raw["updates"]),
            firewall=build_firewall(raw["firewall"]),
            antivirus=build_antivirus(raw["antivirus"]),
            backup_enabled=backup_enabled,
        )

    def exceptions_for(self, host: str) -> dict[str, ControlException]:
        """Control id -> the exception that applies to ``host`` (by name or by group)."""
        groups = set(self.groups_of(host))
        out: dict[str, ControlException] = {}
        for exc in self.exceptions:
            if host in exc.hosts or groups & set(exc.groups):
                out.setdefault(exc.control, exc)
        return out


# ------------------------------------------------------------------------------ building


def merged_sections(raw: Mapping[str, Any], overrides: list[dict[str, Any]]) -> dict[str, Any]:
    """The overridable sections of ``raw`` with each override deep-merged in turn."""
    out: dict[str, Any] = {s: copy.deepcopy(dict(raw.get(s) or {})) for s in OVERRIDABLE}
    for ov in overrides:
        for section, value in ov.items():
            if section == "firewall":
                extra = (value or {}).get("allowed_services") or []
                base = out["firewall"].get("allowed_services") or []
                out["firewall"]["allowed_services"] = [*base, *copy.deepcopy(extra)]
            elif isinstance(value, dict):
                _deep_merge(out[section], value)
    return out


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _deep_merge(base[k], v)
        else:
            base[k] = copy.deepcopy(v)


def secret_ref(raw: Any) -> SecretRef | None:
    if not isinstance(raw, Mapping) or not raw:
        return None
    ((kind, name),) = raw.items()
    return SecretRef(kind=cast(Literal["env", "vault"], kind), name=str(name))


def _date(value: Any) -> datetime.date | None:
    if value is None:
        return None
    if isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value))


def presets() -> dict[str, Preset]:
    return load_catalogue().presets


def build_session_lock(raw: Mapping[str, Any]) -> SessionLock:
    return SessionLock(
        idle_minutes=int(raw.get("idle_minutes", 15)),
        lock_delay_seconds=int(raw.get("lock_delay_seconds", 0)),
    )


def build_passwords(raw: Mapping[str, Any]) -> PasswordPolicy:
    name = raw.get("preset", DEFAULT_PRESET)
    preset = presets().get(name) if name else None
    # Without a preset, missing fields fall back to the strictest CNIL case 1 example.
    base = preset or presets()["cnil-2022-case1-complex"]
    if "lockout" in raw:
        lock = raw["lockout"] or {}
        threshold = int(lock.get("threshold", base.lockout_threshold or 5)) if lock else 0
        unlock = int(lock.get("unlock_minutes", base.lockout_unlock_minutes or 15))
    else:
        threshold = int(base.lockout_threshold or 0) if preset else 0
        unlock = int(base.lockout_unlock_minutes or 0) if preset else 0
    if threshold == 0:
        unlock = 0
    return PasswordPolicy(
        preset=name,
        min_length=int(raw.get("min_length", base.min_length)),
        required_classes=tuple(raw.get("required_classes", base.required_classes)),
        min_classes=int(raw.get("min_classes", base.min_classes)),
        lockout_threshold=threshold,
        lockout_unlock_minutes=unlock,
        max_age_days=int(raw.get("max_age_days", 0)),
        admin_max_age_days=int(raw.get("admin_max_age_days", 365)),
        hash_method=raw.get("hash_method", "yescrypt"),
    )


def build_updates(raw: Mapping[str, Any]) -> Updates:
    window = raw.get("maintenance_window") or {}
    return Updates(
        scope=raw.get("scope", "security"),
        window_days=tuple(window.get("days", ("sun",))),
        window_start=str(window.get("start", "03:00")),
        window_duration_minutes=int(window.get("duration_minutes", 120)),
        reboot=raw.get("reboot", "in_window"),
    )


def build_firewall(raw: Mapping[str, Any]) -> Firewall:
    mgmt = raw.get("management") or {}
    return Firewall(
        default_inbound="deny",
        management_sources=tuple(mgmt.get("sources", ())),
        management_ports=tuple(int(p) for p in mgmt.get("ports", (22,))),
        allowed_services=tuple(
            Service(
                name=s["name"],
                port=int(s["port"]),
                protocol=s.get("protocol", "tcp"),
                sources=tuple(s.get("sources") or ()),
            )
            for s in raw.get("allowed_services") or ()
        ),
        rollback_seconds=int(raw.get("rollback_seconds", 60)),
    )


def build_antivirus(raw: Mapping[str, Any]) -> Antivirus:
    return Antivirus(
        enabled=bool(raw.get("enabled", True)),
        scan=raw.get("scan", "scheduled"),
        max_signature_age_days=int(raw.get("max_signature_age_days", 2)),
    )


def build_backup(raw: Mapping[str, Any]) -> Backup:
    retention = raw.get("retention") or {}
    return Backup(
        enabled=bool(raw.get("enabled", False)),
        paths=tuple(raw.get("paths") or ()),
        repository=raw.get("repository"),
        schedule=str(raw.get("schedule", "01:00")),
        max_age_hours=int(raw.get("max_age_hours", 26)),
        password=secret_ref(raw.get("password")),
        retention_daily=int(retention.get("daily", 7)),
        retention_weekly=int(retention.get("weekly", 4)),
        retention_monthly=int(retention.get("monthly", 6)),
        hosts=tuple(raw.get("hosts") or ()),
        groups=tuple(raw.get("groups") or ()),
        store_host_key=raw.get("store_host_key"),
    )


def _evidence(raw: Any, date_key: str) -> Evidence | None:
    if not isinstance(raw, Mapping):
        return None
    return Evidence(document=raw.get("document"), date=_date(raw.get(date_key)),
                    owner=raw.get("owner"))


def _platform(value: Any, host_vars: Mapping[str, Any]) -> Literal["debian", "windows"]:
    if value in ("debian", "windows"):
        return cast(Literal["debian", "windows"], value)
    if host_vars.get("ansible_connection") in ("winrm", "psrp"):
        return "windows"
    return "debian"


def build_inventory(raw: Mapping[str, Any], base_dir: Path) -> InventorySpec:
    path = (base_dir / raw["path"]).resolve() if raw.get("path") else None
    hosts: dict[str, HostSpec] = {}
    for name, spec in (raw.get("hosts") or {}).items():
        spec = spec or {}
        hvars = dict(spec.get("vars") or {})
        hosts[name] = HostSpec(name=name, groups=tuple(spec.get("groups") or ()),
                               platform=_platform(spec.get("platform"), hvars), vars=hvars)
    groups = {
        name: GroupSpec(name=name, overrides={k: v for k, v in (spec or {}).items()
                                              if k in OVERRIDABLE})
        for name, spec in (raw.get("groups") or {}).items()
    }
    return InventorySpec(path=path, hosts=hosts, groups=groups)


def build_profile(data: Mapping[str, Any], path: Path,
                  external: Mapping[str, tuple[str, ...]] | None = None) -> SiteProfile:
    """Build the typed profile from a document that passed the schema and semantic checks;
    ``external``: host -> groups read from the Ansible inventory named by inventory.path."""
    base_dir = path.parent
    site = data["site"]
    msp = site.get("msp") or {}
    acc = data["accounts"]
    admins = set(acc.get("admins") or ())
    users = tuple(
        User(
            login=u["login"],
            full_name=u["full_name"],
            role=u.get("role"),
            groups=tuple(u.get("groups") or ()),
            state=u.get("state", "present"),
            admin=u["login"] in admins,
            remove_home=bool(u.get("remove_home", False)),
            initial_password=secret_ref(u.get("initial_password")),
        )
        for u in acc.get("users") or ()
    )
    org = data.get("organisation") or {}
    banner = data.get("banner")
    vault = (data.get("secrets") or {}).get("vault_file")
    sections = merged_sections(data, [])
    return SiteProfile(
        path=path,
        schema_version=int(data["schema_version"]),
        site=Site(name=site["name"], finess=site["finess"], msp_name=msp.get("name"),
                  msp_contact=msp.get("contact")),
        inventory=build_inventory(data["inventory"], base_dir),
        session_lock=build_session_lock(sections["session_lock"]),
        passwords=build_passwords(sections["passwords"]),
        accounts=Accounts(
            management_account=acc["management_account"],
            users=users,
            forbidden_generic_logins=tuple(acc.get("forbidden_generic_logins") or ()),
            local_allowlist=tuple(acc.get("local_allowlist") or ()),
        ),
        updates=build_updates(sections["updates"]),
        firewall=build_firewall(sections["firewall"]),
        antivirus=build_antivirus(sections["antivirus"]),
        backup=build_backup(sections["backup"]),
        banner=Banner(charter_version=banner["charter_version"], text=banner["text"])
        if banner else None,
        organisation=Organisation(
            max_age_months=int(org.get("max_age_months", 12)),
            degraded_procedures=_evidence(org.get("degraded_procedures"), "last_test"),
            awareness=_evidence(org.get("awareness"), "last_session"),
            charter=_evidence(org.get("charter"), "adopted"),
        ),
        exceptions=tuple(
            ControlException(
                control=e["control"],
                hosts=tuple(e.get("hosts") or ()),
                groups=tuple(e.get("groups") or ()),
                reason=e["reason"],
                approved_by=e["approved_by"],
                expires=datetime.date.fromisoformat(e["expires"]),
            )
            for e in data.get("exceptions") or ()
        ),
        vault_file=(base_dir / vault).resolve() if vault else None,
        raw=MappingProxyType(dict(data)),
        inventory_groups=MappingProxyType(dict(external or {})),
    )
