"""Semantic rules about what a profile exposes or shares (registered into the rules of
:mod:`esms_baseline.profile.semantic`; see docs/host-keys.md for the trust model):

- management sources that together cover the whole IPv4 or IPv6 space (``0.0.0.0/0``,
  ``::/0``, or ``0.0.0.0/1`` + ``128.0.0.0/1``) open the administration to the Internet:
  an error unless ``firewall.management.justification`` says why;
- two accounts naming the same initial password (the same ``{env:}`` or ``{vault:}``
  reference) would silently get one password: an error;
- ``backup.store_host_key`` must be exactly one public key (type and base64, nothing else)
  and only makes sense for an sftp repository.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from esms_baseline.profile.semantic import Ctx, _overrides, rule
from esms_baseline.profile.yamlpos import JsonPath

_KEY = re.compile(
    r"(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|ssh-rsa) "
    r"[A-Za-z0-9+/]+={0,3}")
_EVERYTHING = {4: ipaddress.ip_network("0.0.0.0/0"), 6: ipaddress.ip_network("::/0")}


def _covers_everything(sources: list[Any]) -> list[str]:
    """The address families ('0.0.0.0/0', '::/0') the sources cover entirely."""
    nets: dict[int, list[Any]] = {4: [], 6: []}
    for s in sources:
        try:
            n = ipaddress.ip_network(str(s), strict=False)
        except ValueError:
            continue  # the schema / other rules report a malformed block
        nets[n.version].append(n)
    out = []
    for version, found in nets.items():
        if found and list(ipaddress.collapse_addresses(found)) == [_EVERYTHING[version]]:
            out.append(str(_EVERYTHING[version]))
    return out


def _management_blocks(ctx: Ctx) -> list[tuple[JsonPath, dict[str, Any]]]:
    out: list[tuple[JsonPath, dict[str, Any]]] = []
    mgmt = (ctx.data.get("firewall") or {}).get("management")
    if isinstance(mgmt, dict):
        out.append((("firewall", "management"), mgmt))
    for g, ov in _overrides(ctx):
        gm = (ov.get("firewall") or {}).get("management")
        if isinstance(gm, dict):
            out.append((("inventory", "groups", g, "firewall", "management"), gm))
    return out


@rule
def management_open_to_everyone(ctx: Ctx) -> None:
    for path, mgmt in _management_blocks(ctx):
        whole = _covers_everything(list(mgmt.get("sources") or []))
        if whole and not str(mgmt.get("justification") or "").strip():
            ctx.add((*path, "sources"),
                    f"management sources cover every address ({' and '.join(whole)}): the "
                    "administration (SSH/WinRM) would be open to the whole Internet; list the "
                    "MSP's own address blocks, or give "
                    f"{'.'.join(str(p) for p in path)}.justification (why, and who decided)",
                    key=False)


@rule
def initial_passwords_not_shared(ctx: Ctx) -> None:
    seen: dict[tuple[str, str], str] = {}
    for i, user in enumerate((ctx.data.get("accounts") or {}).get("users") or ()):
        ref = user.get("initial_password") if isinstance(user, dict) else None
        if not isinstance(ref, dict) or len(ref) != 1:
            continue
        ((kind, name),) = ref.items()
        key = (str(kind), str(name))
        login = str(user.get("login"))
        if key in seen:
            ctx.add(("accounts", "users", i, "initial_password", kind),
                    f"'{login}' names the same initial password as '{seen[key]}' ({kind}: "
                    f"{name}): each account needs its own, or one would log in as the other",
                    key=False)
        else:
            seen[key] = login


@rule
def store_host_key_is_one_key(ctx: Ctx) -> None:
    backup = ctx.data.get("backup") or {}
    key = backup.get("store_host_key")
    if key is None:
        return
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        ctx.add(("backup", "store_host_key"),
                "expected one SSH public key on one line: its type and base64 value, e.g. "
                "'ssh-ed25519 AAAAC3Nza...' (the store's /etc/ssh/ssh_host_ed25519_key.pub "
                "without its comment)", key=False)
    elif not str(backup.get("repository") or "").startswith("sftp:"):
        ctx.add(("backup", "store_host_key"),
                "a store host key is only used with an sftp: repository", key=False)


#: Names a ``{vault: name}`` variable may not take: the vault file is read by Ansible as
#: extra variables (``-e @file``, the highest precedence, on every host), so a variable
#: named like a connection setting (``ansible_ssh_args``), a role internal
#: (``esms_firewall_ruleset_override``) or a magic variable would override it.
RESERVED_VAULT_PREFIXES = ("ansible_", "esms_")
RESERVED_VAULT_NAMES = frozenset({
    "hostvars", "groups", "group_names", "inventory_hostname", "inventory_hostname_short",
    "inventory_dir", "inventory_file", "omit", "playbook_dir", "play_hosts", "role_path",
    "role_name", "environment", "vars", "item",
})


def reserved_vault_name(name: str) -> bool:
    return name.startswith(RESERVED_VAULT_PREFIXES) or name in RESERVED_VAULT_NAMES


def _vault_refs(value: Any, path: JsonPath) -> list[tuple[JsonPath, str]]:
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get("vault"), str):
            return [(path, value["vault"])]
        return [r for k, v in value.items() for r in _vault_refs(v, (*path, k))]
    if isinstance(value, list):
        return [r for i, v in enumerate(value) for r in _vault_refs(v, (*path, i))]
    return []


@rule
def vault_names_not_reserved(ctx: Ctx) -> None:
    for path, name in _vault_refs(ctx.data, ()):
        if reserved_vault_name(name):
            ctx.add((*path, "vault"),
                    f"{{vault: {name}}}: a vault variable may not be named like an Ansible or "
                    "esms-baseline variable (ansible_..., esms_..., hostvars...): Ansible "
                    "reads the vault file as extra variables, which override that setting "
                    "on every host; choose another name", key=False)
