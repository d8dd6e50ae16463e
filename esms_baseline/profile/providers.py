"""Providers' access (profile section ``providers``) and the end-of-support settings
(``updates.end_of_support``): typed views and their semantic checks.

Kept apart from ``semantic.py``: the checks here register themselves with its ``@rule``
(importing this module is enough; ``esms_baseline.profile`` does it).

Cross-checks of ``validate``:
- a provider's name is unique; its hosts and groups exist;
- each of its ``accounts`` is declared in ``accounts.users`` with ``provider:`` naming it, is
  not the management account, not an admin nor in a privileged local group (a provider
  elevates through the MSP), and each user with ``provider:`` names a declared provider that
  lists it;
- an ``ssh`` (or ``rdp``) access has sources, none of them every address, each inside
  ``firewall.management.sources`` (otherwise the firewall would cut it); a ``vendor_tool``
  access names its tools; ``access_until`` is at most 10 years ahead.
An access that ended in the past is not an error: ESMS-PRV-01 keeps its accounts locked.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from esms_baseline.catalogue.eol import load_eol
from esms_baseline.profile.schema import suggest
from esms_baseline.profile.semantic import Ctx, rule

if TYPE_CHECKING:
    from esms_baseline.profile.model import SiteProfile


@dataclass(frozen=True)
class Provider:
    name: str
    contract: str
    maintains: str
    access: str
    access_until: datetime.date
    tools: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()

    def covers(self, host: str, host_groups: Sequence[str]) -> bool:
        """The provider reaches ``host`` (named, or through one of its groups; a provider
        that names neither hosts nor groups reaches every host)."""
        if not self.hosts and not self.groups:
            return True
        return host in self.hosts or bool(set(self.groups) & set(host_groups))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "contract": self.contract, "maintains": self.maintains,
                "access": self.access, "access_until": self.access_until.isoformat(),
                "tools": list(self.tools), "sources": list(self.sources),
                "hosts": list(self.hosts), "groups": list(self.groups),
                "accounts": list(self.accounts)}


def _date(value: Any) -> datetime.date:
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(str(value))


def providers_of(raw: Mapping[str, Any]) -> tuple[Provider, ...]:
    """The providers of a (schema-valid) profile document."""
    return tuple(
        Provider(name=str(p["name"]), contract=str(p["contract"]), maintains=str(p["maintains"]),
                 access=str(p["access"]), access_until=_date(p["access_until"]),
                 tools=tuple(p.get("tools") or ()), sources=tuple(p.get("sources") or ()),
                 hosts=tuple(p.get("hosts") or ()), groups=tuple(p.get("groups") or ()),
                 accounts=tuple(p.get("accounts") or ()))
        for p in raw.get("providers") or ())


def sector_vars(profile: SiteProfile, host: str) -> dict[str, Any]:
    """The role variables of ESMS-UPD-04 and ESMS-PRV-01..03 for ``host``
    (docs/architecture.md): end-of-support settings (group overrides applied), the provider
    accounts and remote-control tools of the providers that reach this host."""
    from esms_baseline.profile.model import merged_sections

    groups = profile.groups_of(host)
    overrides = [profile.inventory.groups[g].overrides for g in groups
                 if g in profile.inventory.groups]
    eos = (merged_sections(profile.raw, overrides).get("updates") or {}).get(
        "end_of_support") or {}
    esu = eos.get("windows_esu") or {}
    trace = profile.raw.get("providers_trace") or {}
    mine = [p for p in providers_of(profile.raw) if p.covers(host, groups)]
    count_lts = bool(eos.get("count_debian_lts", True))
    table = load_eol()
    builds: dict[str, str] = {}
    for w in table.windows:  # the audit task warns on the earliest end of a build
        key = str(w.build)
        builds[key] = min(builds.get(key, w.end.isoformat()), w.end.isoformat())
    return {
        "esms_updates_eol_warn_days": int(eos.get("warn_days", 180)),
        "esms_updates_eol_count_debian_lts": bool(eos.get("count_debian_lts", True)),
        "esms_updates_windows_esu_program": esu.get("program"),
        "esms_updates_windows_esu_until": str(esu["until"]) if esu.get("until") else None,
        "esms_updates_eol_debian_ends": {
            d.version: (d.lts_end if count_lts else d.regular_end).isoformat()
            for d in table.debian},
        "esms_updates_eol_windows_ends": builds,
        # every provider account of the site (esms_accounts creates accounts.users on every
        # host): on a host its provider does not reach, it is expired and locked
        # (reaches: false), so that a provider scoped to some hosts cannot log in elsewhere
        "esms_providers_accounts": [
            {"login": login, "provider": p.name, "access_until": p.access_until.isoformat(),
             "contract": p.contract, "access": p.access, "reaches": p in mine}
            for p in providers_of(profile.raw) for login in p.accounts],
        "esms_providers_remote_tools": sorted({t for p in mine for t in p.tools}),
        "esms_providers_log_retention_days": int(trace.get("log_retention_days", 180)),
        "esms_providers_journal_max_use_mib": int(trace.get("journal_max_use_mib", 1024)),
    }


# ------------------------------------------------------------------------------ checks

#: local groups that make an account an administrator or let it read every secret
#: (sudo/wheel/admin: sudo rights; root, disk, shadow: root files, raw disks, password
#: hashes; docker, lxd, libvirt: root through the daemon; adm: every log)
PRIVILEGED_GROUPS = frozenset({"root", "sudo", "wheel", "admin", "adm", "disk", "shadow",
                               "docker", "lxd", "libvirt"})
#: an access that ends more than this many days ahead is refused: it would never expire
MAX_ACCESS_DAYS = 3653


def _networks(cidrs: Sequence[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    out = []
    for c in cidrs:
        try:
            out.append(ipaddress.ip_network(c, strict=False))
        except ValueError:
            continue  # reported by the firewall checks
    return out


@rule
def providers_consistent(ctx: Ctx) -> None:
    provs = ctx.data.get("providers") or []
    if not provs and not any((u or {}).get("provider")
                             for u in ctx.data["accounts"].get("users") or []):
        return
    acc = ctx.data["accounts"]
    mgmt = acc["management_account"]
    admins = set(acc.get("admins") or ())
    users = {u["login"]: (i, u) for i, u in enumerate(acc.get("users") or [])}
    known_hosts = ctx.known_hosts()
    known_groups = ctx.known_groups()
    mgmt_nets = _networks(((ctx.data.get("firewall") or {}).get("management") or {})
                          .get("sources") or [])
    names: dict[str, int] = {}
    for i, p in enumerate(provs):
        base = ("providers", i)
        name = p["name"]
        if name in names:
            ctx.add((*base, "name"), f"provider '{name}' is declared twice (first as "
                                     f"providers[{names[name]}])", key=False)
            continue
        names[name] = i
        for j, h in enumerate(p.get("hosts") or []):
            if known_hosts is not None and h not in known_hosts:
                ctx.add((*base, "hosts", j), f"unknown host '{h}'"
                        f"{suggest(h, known_hosts)}", key=False)
        for j, g in enumerate(p.get("groups") or []):
            if known_groups is not None and g not in known_groups:
                ctx.add((*base, "groups", j), f"unknown group '{g}'"
                        f"{suggest(g, known_groups)}", key=False)
        for j, login in enumerate(p.get("accounts") or []):
            path = (*base, "accounts", j)
            if login == mgmt:
                ctx.add(path, f"'{login}' is the management account: a provider gets its own "
                              "named account", key=False)
            elif login not in users:
                ctx.add(path, f"provider account '{login}' is not declared in accounts.users"
                              f"{suggest(login, users)}: declare it with provider: {name}",
                        key=False)
            elif users[login][1].get("provider") != name:
                ctx.add(path, f"account '{login}' is listed by provider '{name}' but its "
                              "accounts.users entry says provider: "
                              f"{users[login][1].get('provider') or '(none)'}", key=False)
            elif login in admins:
                ctx.add(path, f"provider account '{login}' is an admin: a provider's "
                              "account must not hold administrator rights of its own",
                        key=False)
            elif set(users[login][1].get("groups") or ()) & PRIVILEGED_GROUPS:
                bad = ", ".join(sorted(set(users[login][1]["groups"]) & PRIVILEGED_GROUPS))
                ctx.add(("accounts", "users", users[login][0], "groups"),
                        f"provider account '{login}' is in {bad}: a group that gives "
                        "administrator rights (or reads every secret); a provider elevates "
                        "through the MSP", key=False)
        until = p.get("access_until")
        end: datetime.date | None = None
        if isinstance(until, (str, datetime.date)):
            try:
                end = _date(until)
            except ValueError:
                end = None  # reported by the schema
            if end is not None and end > ctx.today + datetime.timedelta(days=MAX_ACCESS_DAYS):
                ctx.add((*base, "access_until"),
                        f"access until {end.isoformat()} is more than {MAX_ACCESS_DAYS // 365} "
                        "years away: that is no end; give the contract's end date", key=False)
        if end is not None and end >= ctx.today:
            # ESMS-ACC-03 locks a departed account, ESMS-PRV-01 unlocks a provider account
            # whose access runs: both at once would flip it on every apply
            for j, login in enumerate(p.get("accounts") or []):
                if login in users and users[login][1].get("state") == "departed":
                    ctx.add((*base, "accounts", j),
                            f"account '{login}' has left (state: departed) but provider "
                            f"'{name}' still lists it and its access runs until "
                            f"{end.isoformat()}: remove it from the provider's accounts "
                            "(the departed account stays locked)", key=False)
        access = p["access"]
        sources = p.get("sources") or []
        if access in ("ssh", "rdp"):
            if not sources:
                ctx.add((*base, "access"), f"access {access} needs sources: the address "
                                           "ranges the provider connects from", key=False)
            for j, src in enumerate(sources):
                net = _networks([src])
                if net and net[0].prefixlen == 0:
                    ctx.add((*base, "sources", j),
                            f"source {src} is every address: name the provider's own "
                            "address ranges", key=False)
                    continue
                if net and not any(net[0].version == m.version and net[0].subnet_of(m)  # type: ignore[arg-type]
                                   for m in mgmt_nets):
                    ctx.add((*base, "sources", j),
                            f"source {src} is not inside firewall.management.sources: the "
                            "firewall would cut this provider's access; add it there",
                            key=False)
            if access == "ssh" and not p.get("accounts"):
                ctx.add((*base, "accounts"), "an ssh access needs named accounts (one per "
                                             "person of the provider)", key=False)
        if access == "vendor_tool" and not p.get("tools"):
            ctx.add((*base, "tools"), "access vendor_tool: name the remote-control software "
                                      "(tools) so that it is declared on its hosts", key=False)
    for login, (i, u) in users.items():
        prov = u.get("provider")
        if not prov:
            continue
        if prov not in names:
            ctx.add(("accounts", "users", i, "provider"),
                    f"unknown provider '{prov}'{suggest(prov, names)}", key=False)
        elif login not in (provs[names[prov]].get("accounts") or []):
            ctx.add(("accounts", "users", i, "provider"),
                    f"'{login}' says provider: {prov} but that provider does not list it in "
                    "its accounts", key=False)


@rule
def esu_within_the_program(ctx: Ctx) -> None:
    """A declared Windows ESU enrolment ends no later than the last day its program covers in
    the end-of-support table (otherwise the profile claims updates Microsoft does not ship;
    the check would silently count the program's end)."""
    places: list[tuple[tuple[Any, ...], Any]] = [
        (("updates", "end_of_support", "windows_esu"),
         ((ctx.data.get("updates") or {}).get("end_of_support") or {}).get("windows_esu"))]
    for g, spec in ((ctx.data.get("inventory") or {}).get("groups") or {}).items():
        esu = (((spec or {}).get("updates") or {}).get("end_of_support") or {}).get("windows_esu")
        places.append((("inventory", "groups", g, "updates", "end_of_support", "windows_esu"),
                       esu))
    limits: dict[str, datetime.date] = {}
    for w in load_eol().windows:
        for program, day in w.esu.items():
            limits[program] = max(limits.get(program, day), day)
    for path, esu in places:
        if not isinstance(esu, Mapping) or esu.get("program") not in limits:
            continue
        try:
            until = _date(esu.get("until"))
        except ValueError:
            continue  # reported by the schema
        last = limits[esu["program"]]
        if until > last:
            ctx.add((*path, "until"),
                    f"ESU {esu['program']} until {until.isoformat()}: the program covers no "
                    f"later than {last.isoformat()} (esms-baseline controls --eol)", key=False)
