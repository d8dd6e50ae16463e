"""Semantic checks: what the schema cannot say. Each rule is a function that takes the
:class:`Ctx` and adds problems; they run only on a document that passed the schema, so the
types are known. Every problem points at the key or value that has to change."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from esms_baseline.catalogue import Preset, load_catalogue
from esms_baseline.errors import Problem
from esms_baseline.profile.inventory import AnsibleInventory
from esms_baseline.profile.model import DEFAULT_PRESET, build_passwords, merged_sections
from esms_baseline.profile.schema import suggest
from esms_baseline.profile.yamlpos import Document, JsonPath, format_path

IpNet = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class Ctx:
    data: dict[str, Any]
    doc: Document
    today: datetime.date
    base_dir: Path
    #: the Ansible inventory named by inventory.path, when it could be read
    external: AnsibleInventory | None = None
    problems: list[Problem] = field(default_factory=list)

    def add(self, path: JsonPath, message: str, *, key: bool = True) -> None:
        self.problems.append(self.doc.problem(path, message, key=key))

    @property
    def inv(self) -> dict[str, Any]:
        inv: dict[str, Any] = self.data["inventory"]
        return inv

    def host_groups(self) -> dict[str, tuple[str, ...]]:
        """host -> its groups (inline, or from the Ansible inventory)."""
        out = {h: tuple((spec or {}).get("groups") or ())
               for h, spec in (self.inv.get("hosts") or {}).items()}
        if self.external:
            for h, groups in self.external.resolve().items():
                out.setdefault(h, groups)
        return out

    def known_groups(self) -> set[str] | None:
        """Groups that exist; None when they cannot be known (unreadable inventory)."""
        if self.inv.get("hosts") is not None or not self.inv.get("path"):
            return set(self.inv.get("groups") or {})
        if self.external is None:
            return None
        return set(self.external.groups)

    def known_hosts(self) -> set[str] | None:
        if self.inv.get("path") and self.external is None:
            return None
        return set(self.host_groups())


Rule = Callable[[Ctx], None]
RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


def check(ctx: Ctx) -> list[Problem]:
    for fn in RULES:
        fn(ctx)
    return ctx.problems


# ------------------------------------------------------------------------------- inventory


@rule
def inventory_source(ctx: Ctx) -> None:
    inv = ctx.inv
    if "hosts" in inv and "path" in inv:
        ctx.add(("inventory", "path"), "give either path (an Ansible inventory) or hosts "
                                       "(inline), not both")
    elif not inv.get("hosts") and not inv.get("path"):
        ctx.add(("inventory",), "the inventory has no host: list them under hosts, or give "
                                "path, an Ansible inventory file under inventories/")
    if inv.get("path"):
        target = (ctx.base_dir / inv["path"]).resolve()
        if not target.exists():
            ctx.add(("inventory", "path"), f"no Ansible inventory at {target} (the path is "
                                           "relative to the profile file)", key=False)


@rule
def host_groups_known(ctx: Ctx) -> None:
    declared = list(ctx.inv.get("groups") or {})
    for host, spec in (ctx.inv.get("hosts") or {}).items():
        for j, g in enumerate((spec or {}).get("groups") or ()):
            if g not in declared:
                ctx.add(("inventory", "hosts", host, "groups", j),
                        f"host '{host}' is in group '{g}', which inventory.groups does not "
                        f"declare{suggest(g, declared)}; declared groups: "
                        f"{', '.join(declared) or 'none'}", key=False)


@rule
def overrides_for_known_groups(ctx: Ctx) -> None:
    if ctx.inv.get("hosts") is not None or ctx.external is None:
        return
    known = sorted(ctx.external.groups)
    for g in ctx.inv.get("groups") or {}:
        if g not in ctx.external.groups:
            ctx.add(("inventory", "groups", g),
                    f"settings for group '{g}', which the Ansible inventory "
                    f"{ctx.inv['path']} does not have{suggest(g, known)}; its groups: "
                    f"{', '.join(known) or 'none'}")


def _overrides(ctx: Ctx) -> Iterator[tuple[str, dict[str, Any]]]:
    for g, spec in (ctx.inv.get("groups") or {}).items():
        yield g, {k: v for k, v in (spec or {}).items() if k != "description"}


def _leaves(value: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            yield from _leaves(v, (*prefix, k))
    else:
        yield prefix, value


@rule
def no_conflicting_overrides(ctx: Ctx) -> None:
    overrides = dict(_overrides(ctx))
    leaves = {
        g: {p: v for p, v in _leaves({k: v for k, v in ov.items() if k != "firewall"})
            if p}
        for g, ov in overrides.items()
    }
    conflicts: dict[tuple[str, str, tuple[str, ...]], list[str]] = {}
    for host, groups in ctx.host_groups().items():
        groups = tuple(g for g in groups if g in leaves)
        for i, g1 in enumerate(groups):
            for g2 in groups[i + 1:]:
                for p, v in leaves[g2].items():
                    if p in leaves[g1] and leaves[g1][p] != v:
                        conflicts.setdefault((g1, g2, p), []).append(host)
    for (g1, g2, p), hosts in conflicts.items():
        v1, v2 = leaves[g1][p], leaves[g2][p]
        ctx.add(("inventory", "groups", g2, *p),
                f"host{'s' if len(hosts) > 1 else ''} {', '.join(hosts)} "
                f"{'are' if len(hosts) > 1 else 'is'} in groups '{g1}' and '{g2}', which set "
                f"{'.'.join(p)} differently ({v1!r} and {v2!r}): keep one value, or take the "
                "host out of one of the groups")


# -------------------------------------------------------------------------------- firewall


def _source_lists(ctx: Ctx) -> Iterator[tuple[JsonPath, list[str]]]:
    fw = ctx.data.get("firewall") or {}
    yield ("firewall", "management", "sources"), (fw.get("management") or {}).get("sources", [])
    for i, svc in enumerate(fw.get("allowed_services") or ()):
        yield ("firewall", "allowed_services", i, "sources"), svc.get("sources") or []
    for g, ov in _overrides(ctx):
        for i, svc in enumerate((ov.get("firewall") or {}).get("allowed_services") or ()):
            yield (("inventory", "groups", g, "firewall", "allowed_services", i, "sources"),
                   svc.get("sources") or [])


@rule
def cidrs_valid_and_disjoint(ctx: Ctx) -> None:
    for path, sources in _source_lists(ctx):
        nets: list[tuple[int, IpNet]] = []
        for j, text in enumerate(sources):
            try:
                net = ipaddress.ip_network(text.strip(), strict=True)
            except ValueError:
                hint = ""
                try:
                    loose = ipaddress.ip_network(text.strip(), strict=False)
                    hint = f": the address has bits set beyond the prefix; did you mean {loose}?"
                except ValueError:
                    hint = ": expected an address or a CIDR block such as 203.0.113.0/24"
                ctx.add((*path, j), f"'{text}' is not a valid address block{hint}", key=False)
                continue
            for k, other in nets:
                if net.version == other.version and net.overlaps(other):
                    ctx.add((*path, j), f"{net} overlaps {other} (item {k + 1} of the same "
                                        "list): list each address once", key=False)
                    break
            nets.append((j, net))


def _connection_port(spec: Mapping[str, Any], platform: str) -> int | None:
    hvars = spec.get("vars") or {}
    for key in ("ansible_port", "ansible_ssh_port"):
        if key in hvars:
            try:
                return int(hvars[key])
            except (TypeError, ValueError):
                return None
    if platform == "windows" or hvars.get("ansible_connection") in ("winrm", "psrp"):
        return 5985 if hvars.get("ansible_winrm_scheme") == "http" else 5986
    return 22


@rule
def management_port_reachable(ctx: Ctx) -> None:
    mgmt = (ctx.data.get("firewall") or {}).get("management") or {}
    ports = list(mgmt.get("ports") or [22])
    for host, spec in (ctx.inv.get("hosts") or {}).items():
        spec = spec or {}
        port = _connection_port(spec, spec.get("platform", "debian"))
        if port is None or port in ports:
            continue
        hvars = spec.get("vars") or {}
        key = next((k for k in ("ansible_port", "ansible_ssh_port") if k in hvars), None)
        path: JsonPath = (("inventory", "hosts", host, "vars", key) if key
                          else ("inventory", "hosts", host))
        ctx.add(path, f"host '{host}' is managed over port {port}, which "
                      f"firewall.management.ports ({', '.join(map(str, ports))}) does not open: "
                      "applying would lock the management access out; add the port there")


@rule
def no_service_on_management_port(ctx: Ctx) -> None:
    fw = ctx.data.get("firewall") or {}
    ports = set((fw.get("management") or {}).get("ports") or [22])
    lists: list[tuple[JsonPath, list[dict[str, Any]]]] = [
        (("firewall", "allowed_services"), fw.get("allowed_services") or [])]
    for g, ov in _overrides(ctx):
        lists.append((("inventory", "groups", g, "firewall", "allowed_services"),
                      (ov.get("firewall") or {}).get("allowed_services") or []))
    for path, services in lists:
        for i, svc in enumerate(services):
            if svc.get("protocol", "tcp") == "tcp" and svc["port"] in ports:
                ctx.add((*path, i, "port"),
                        f"port {svc['port']} is a management port: it is opened only to "
                        "firewall.management.sources; as an allowed service it would be "
                        "opened to other sources too. Remove this service", key=False)


# -------------------------------------------------------------------------------- accounts


@rule
def accounts_consistent(ctx: Ctx) -> None:
    acc = ctx.data["accounts"]
    mgmt = acc["management_account"]
    users = acc.get("users") or []
    forbidden = list(acc.get("forbidden_generic_logins") or [])
    first: dict[str, int] = {}
    for i, u in enumerate(users):
        login = u["login"]
        path = ("accounts", "users", i, "login")
        if login in first:
            line = ctx.doc.where(("accounts", "users", first[login], "login")).line
            ctx.add(path, f"login '{login}' is declared twice (first as "
                          f"accounts.users[{first[login]}], line {line}): one person, one "
                          "account", key=False)
            continue
        first[login] = i
        if login == mgmt:
            extra = (" and must never be locked as departed"
                     if u.get("state") == "departed" else "")
            ctx.add(path, f"'{login}' is the management account "
                          f"(accounts.management_account): the baseline never manages it{extra}; "
                          "do not declare it as a user", key=False)
        elif login in forbidden:
            ctx.add(path, f"'{login}' is a forbidden generic login "
                          "(accounts.forbidden_generic_logins): a shared login cannot be a "
                          "named user; give the person an individual login", key=False)
    for j, login in enumerate(forbidden):
        if login == mgmt:
            ctx.add(("accounts", "forbidden_generic_logins", j),
                    f"'{login}' is the management account: it must never be locked; remove "
                    "it from forbidden_generic_logins", key=False)
    declared = {u["login"]: u for u in users}
    for j, login in enumerate(acc.get("admins") or []):
        apath: JsonPath = ("accounts", "admins", j)
        if login == mgmt:
            ctx.add(apath, f"'{login}' is the management account, always an administrator and "
                          "never managed: remove it from admins", key=False)
        elif login not in declared:
            ctx.add(apath, f"admin '{login}' is not a declared user{suggest(login, declared)}: "
                          "add it to accounts.users or remove it from admins", key=False)
        elif declared[login].get("state") == "departed":
            ctx.add(apath, f"admin '{login}' has left (state: departed): remove it from admins",
                    key=False)


def _secret_refs(value: Any, path: JsonPath) -> Iterator[tuple[JsonPath, dict[str, str]]]:
    if isinstance(value, dict):
        if path and path[-1] in ("initial_password", "password") and len(value) == 1:
            yield path, value
            return
        for k, v in value.items():
            yield from _secret_refs(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _secret_refs(v, (*path, i))


@rule
def vault_refs_have_a_vault(ctx: Ctx) -> None:
    vault = (ctx.data.get("secrets") or {}).get("vault_file")
    if vault:
        target = (ctx.base_dir / vault).resolve()
        if not target.is_file():
            ctx.add(("secrets", "vault_file"), f"no such file: {target} (the path is relative "
                                               "to the profile file)", key=False)
        return
    for path, ref in _secret_refs(ctx.data, ()):
        if "vault" in ref:
            ctx.add((*path, "vault"), f"{{vault: {ref['vault']}}} needs secrets.vault_file, "
                                      "the Ansible Vault file that defines this variable")


# ------------------------------------------------------------------------------- passwords


def _weaker(policy: Mapping[str, Any], preset: Preset) -> list[tuple[str, str]]:
    """(field, why) for each way ``policy`` (effective values) is weaker than ``preset``."""
    out: list[tuple[str, str]] = []
    name = preset.name
    if policy["min_length"] < preset.min_length:
        why = (f"min_length {policy['min_length']} is shorter than the "
               f"{preset.min_length} characters of preset {name}")
        out.append(("min_length", why))
    missing = [c for c in preset.required_classes if c not in policy["required_classes"]]
    if missing:
        why = f"required_classes lacks {', '.join(missing)}, which preset {name} requires"
        out.append(("required_classes", why))
    if policy["min_classes"] < preset.min_classes:
        why = (f"min_classes {policy['min_classes']} is fewer than the "
               f"{preset.min_classes} of preset {name}")
        out.append(("min_classes", why))
    if not preset.lockout_threshold:
        return out
    if not policy["lockout_threshold"]:
        why = (f"preset {name} (CNIL case {preset.cnil_case}) relies on a lockout after "
               "repeated failures: it cannot be turned off")
        out.append(("lockout", why))
        return out
    if policy["lockout_threshold"] > preset.lockout_threshold:
        why = (f"a lockout after {policy['lockout_threshold']} failures is weaker than the "
               f"{preset.lockout_threshold} of preset {name}")
        out.append(("lockout.threshold", why))
    if policy["lockout_unlock_minutes"] < (preset.lockout_unlock_minutes or 0):
        why = (f"a lockout of {policy['lockout_unlock_minutes']} minutes is shorter than the "
               f"{preset.lockout_unlock_minutes} of preset {name}")
        out.append(("lockout.unlock_minutes", why))
    return out


def _effective(raw: Mapping[str, Any]) -> dict[str, Any]:
    p = build_passwords(raw)
    return {"min_length": p.min_length, "required_classes": p.required_classes,
            "min_classes": p.min_classes, "lockout_threshold": p.lockout_threshold,
            "lockout_unlock_minutes": p.lockout_unlock_minutes}


def _field_path(own: Mapping[str, Any], fld: str) -> tuple[str, ...] | None:
    parts = tuple(fld.split("."))
    node: Any = own
    for part in parts:
        if not isinstance(node, Mapping) or part not in node:
            if fld.startswith("lockout") and "lockout" in own:
                return ("lockout",)
            return None
        node = node[part]
    return parts


def _check_policy(ctx: Ctx, raw: Mapping[str, Any], own: Mapping[str, Any],
                  prefix: JsonPath, site_level: bool) -> None:
    presets = load_catalogue().presets
    name = raw.get("preset", DEFAULT_PRESET)
    eff = _effective(raw)
    if name is None:
        if "preset" not in own:
            return
        if all(_weaker(eff, p) for p in presets.values()):
            ctx.add((*prefix, "preset"),
                    f"with preset: null the policy must be at least as strong as one CNIL "
                    f"2022 case, and min_length {eff['min_length']}, min_classes "
                    f"{eff['min_classes']}, lockout threshold {eff['lockout_threshold']} is "
                    f"weaker than all of them (e.g. {_weaker(eff, presets[DEFAULT_PRESET])[0][1]})")
        return
    for fld, why in _weaker(eff, presets[name]):
        sub = _field_path(own, fld)
        if sub is not None:
            ctx.add((*prefix, *sub), f"weaker than the preset it names: {why}")
        elif "preset" in own or site_level:
            where = (*prefix, "preset") if "preset" in own else prefix
            ctx.add(where, f"weaker than the preset it names: {why}")


@rule
def passwords_not_weaker_than_preset(ctx: Ctx) -> None:
    site = ctx.data.get("passwords") or {}
    _check_policy(ctx, site, site, ("passwords",), True)
    for g, ov in _overrides(ctx):
        own = ov.get("passwords")
        if not own:
            continue
        merged = merged_sections(ctx.data, [{"passwords": own}])["passwords"]
        _check_policy(ctx, merged, own, ("inventory", "groups", g, "passwords"), False)


# ------------------------------------------------------------------------------ exceptions


@rule
def exceptions_valid(ctx: Ctx) -> None:
    ids = load_catalogue().ids
    hosts = ctx.known_hosts()
    groups = ctx.known_groups()
    for i, exc in enumerate(ctx.data.get("exceptions") or []):
        base: JsonPath = ("exceptions", i)
        if exc["control"] not in ids:
            ctx.add((*base, "control"), f"unknown control '{exc['control']}'"
                                        f"{suggest(exc['control'], ids)}; see "
                                        "`esms-baseline controls` for the ids", key=False)
        expires = datetime.date.fromisoformat(exc["expires"])
        if expires < ctx.today:
            ctx.add((*base, "expires"), f"this exception expired on {expires} (today is "
                                        f"{ctx.today}): renew it with a new approval and "
                                        "date, or remove it", key=False)
        if not exc.get("hosts") and not exc.get("groups"):
            ctx.add(base, "an exception names the hosts or groups it covers: add hosts or "
                          "groups", key=False)
        if hosts is not None:
            for j, h in enumerate(exc.get("hosts") or []):
                if h not in hosts:
                    ctx.add((*base, "hosts", j), f"unknown host '{h}'"
                                                 f"{suggest(h, sorted(hosts))}", key=False)
        if groups is not None:
            for j, g in enumerate(exc.get("groups") or []):
                if g not in groups:
                    ctx.add((*base, "groups", j), f"unknown group '{g}'"
                                                  f"{suggest(g, sorted(groups))}", key=False)


# ---------------------------------------------------------------------------------- backup


@rule
def backup_consistent(ctx: Ctx) -> None:
    bak = ctx.data.get("backup") or {}
    enabling: list[JsonPath] = [("backup", "enabled")] if bak.get("enabled") else []
    enabling += [("inventory", "groups", g, "backup", "enabled")
                 for g, ov in _overrides(ctx) if (ov.get("backup") or {}).get("enabled")]
    repo = bak.get("repository")
    if enabling and not repo:
        ctx.add(enabling[0], "backups are enabled but backup.repository, the off-site "
                             "target, is missing")
    if repo and (repo.startswith(("/", "~", ".", "local:", "file:"))):
        ctx.add(("backup", "repository"), f"'{repo}' is a local path: socle point 3 asks "
                                          "for an off-site copy (e.g. sftp:..., s3:..., "
                                          "rest:...)", key=False)
    hosts = ctx.known_hosts()
    groups = ctx.known_groups()
    if hosts is not None:
        for j, h in enumerate(bak.get("hosts") or []):
            if h not in hosts:
                ctx.add(("backup", "hosts", j), f"unknown host '{h}'"
                                                f"{suggest(h, sorted(hosts))}", key=False)
    if groups is not None:
        for j, g in enumerate(bak.get("groups") or []):
            if g not in groups:
                ctx.add(("backup", "groups", j), f"unknown group '{g}'"
                                                 f"{suggest(g, sorted(groups))}", key=False)


# ---------------------------------------------------------------------------- organisation


@rule
def evidence_not_in_future(ctx: Ctx) -> None:
    org = ctx.data.get("organisation") or {}
    for section, key in (("degraded_procedures", "last_test"), ("awareness", "last_session"),
                         ("charter", "adopted")):
        value = (org.get(section) or {}).get(key)
        if value and datetime.date.fromisoformat(value) > ctx.today:
            ctx.add(("organisation", section, key),
                    f"{value} is in the future (today is {ctx.today}): evidence records what "
                    "has happened", key=False)


__all__ = ["RULES", "Ctx", "check", "format_path"]
