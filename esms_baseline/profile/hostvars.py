"""Host variables: what a profile and a connection inventory may set, and nothing else.

Two sources of Ansible variables reach a run besides the plan's own role variables:

- the profile's ``inventory.hosts.<host>.vars``: a closed list of connection settings
  (:data:`ALLOWED`, the ``host_vars`` definition of the schema, which documents each one).
  Passwords (:data:`SECRET_KEYS`) only as ``{env: NAME}`` / ``{vault: name}`` references,
  resolved like the other secrets (the one-time vault file of :mod:`esms_baseline.run`):
  the inventory Ansible reads holds ``{{ variable }}``, never the value.
  ``load_profile`` refuses anything else (schema); :func:`host_vars_problems` refuses it
  again in the plan, for library users who build a :class:`SiteProfile` themselves.
- a connection inventory (``inventory.path``, ``--inventory``, the lab's): an Ansible
  inventory written by the MSP or by ``esms-baseline lab``, trusted as Ansible trusts its
  inventories (it can already run commands on the control machine through
  ``ansible_ssh_common_args``). It may set Ansible's own variables and the few
  esms-baseline connection settings of :data:`CONNECTION_INVENTORY_VARS` (the off-site
  store's ProxyCommand and host keys written by ``lab offsite``); any other ``esms_``
  variable would override a role internal (e.g. ``esms_firewall_ruleset_override``, which
  replaces the whole firewall) and is refused by :func:`connection_inventory_problems`.

``esms_firewall_ruleset_override`` (and any other role internal) therefore reaches a run
only through ``apply(extravars=...)``, which only tests use. See docs/trust.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from esms_baseline.profile.ansible_yaml import Template
from esms_baseline.profile.model import SecretRef
from esms_baseline.profile.schema import load_schema, validator_class
from esms_baseline.profile.text import bad_char

#: Host variables whose value is a secret: only a reference, never the value.
SECRET_KEYS = ("ansible_password", "ansible_become_password")
#: esms-baseline variables a connection inventory may set (lab offsite, WinRM opt-in).
CONNECTION_INVENTORY_VARS = frozenset({
    "esms_backup_ssh_proxy_command",
    "esms_backup_ssh_known_hosts",
    "esms_winrm_weaker_connection_reason",
})
#: What a reference may name (the schema's secret_ref patterns).
_REF_NAMES = {"env": re.compile(r"[A-Z_][A-Z0-9_]*"), "vault": re.compile(r"[A-Za-z_][A-Za-z0-9_]*")}
#: Prefix of the run-time variables that carry connection passwords read from the environment.
CONNECTION_SECRET_PREFIX = "esms_secret_conn_"


def allowed() -> tuple[str, ...]:
    """The connection settings a profile's host may set (the schema's closed list)."""
    return tuple(load_schema()["$defs"]["host_vars"]["properties"])


@cache
def _validator() -> Draft202012Validator:
    schema = load_schema()
    validator: Draft202012Validator = validator_class()({"$defs": schema["$defs"], "$ref": "#/$defs/host_vars"})
    return validator


def _ref(value: Any) -> SecretRef | None:
    if isinstance(value, SecretRef):
        return value
    if isinstance(value, Mapping) and len(value) == 1:
        ((kind, name),) = value.items()
        if kind in ("env", "vault") and isinstance(name, str):
            return SecretRef(kind=kind, name=name)
    return None


def host_vars_problems(host: str, hvars: Mapping[str, Any]) -> list[str]:
    """Why the connection variables of ``host`` cannot be used (empty: they can)."""
    problems: list[str] = []
    names = allowed()
    plain = {k: ({"env": r.name} if r.kind == "env" else {"vault": r.name})
             if isinstance(r := _ref(v), SecretRef) else v for k, v in hvars.items()}
    for key in hvars:
        if key not in names:
            problems.append(f"{host}: host variable {key!r} is not an allowed connection "
                            f"setting (allowed: {', '.join(names)})")
    for key in SECRET_KEYS:
        if key in hvars and _ref(hvars[key]) is None:
            problems.append(f"{host}: {key} must be a reference {{env: NAME}} or "
                            "{vault: name}, never the password itself")
        # the name goes into a Jinja expression of the inventory ({{ name }}, an env lookup):
        # only a variable name, as the schema says (a library user bypasses the schema)
        ref = _ref(hvars.get(key))
        if ref is not None and not _REF_NAMES[ref.kind].fullmatch(ref.name):
            problems.append(f"{host}: {key}: {{{ref.kind}: ...}} must name a variable "
                            f"({_REF_NAMES[ref.kind].pattern}); it is written into a template")
    for err in _validator().iter_errors({k: v for k, v in plain.items()
                                         if k in names and k not in SECRET_KEYS}):
        key = str(err.absolute_path[0]) if err.absolute_path else ""
        problems.append(f"{host}: host variable {key}: {err.message}")
    for key, value in hvars.items():
        if isinstance(value, str) and bad_char(value) is not None:
            problems.append(f"{host}: host variable {key} holds a control character")
    return problems


def secret_var(ref: SecretRef) -> str:
    """The run-time variable that holds the password a reference names."""
    return CONNECTION_SECRET_PREFIX + ref.name.lower() if ref.kind == "env" else ref.name


def resolve(hvars: Mapping[str, Any], *, from_env_lookup: bool = False,
            ) -> tuple[dict[str, Any], dict[str, str]]:
    """``hvars`` as written into an inventory, and run-time variable -> environment variable
    for the passwords read from the environment.

    A password becomes ``{{ <run-time variable> }}`` (filled from the one-time vault file,
    or from the site's vault file for a ``vault`` reference); with ``from_env_lookup`` (the
    inventory of a check, which does not go through ansible-runner) an ``env`` reference
    becomes ``{{ lookup('ansible.builtin.env', 'NAME') }}``, which the check reads itself.
    """
    out: dict[str, Any] = {}
    env: dict[str, str] = {}
    for key, value in hvars.items():
        ref = _ref(value) if key in SECRET_KEYS else None
        if ref is None:
            out[key] = value
        elif ref.kind == "env" and from_env_lookup:
            out[key] = Template("{{ lookup('ansible.builtin.env', '" + ref.name + "') }}")
        else:
            out[key] = Template("{{ " + secret_var(ref) + " }}")
            if ref.kind == "env":
                env[secret_var(ref)] = ref.name
    return out, env


def env_names(hvars: Mapping[str, Any]) -> set[str]:
    """The environment variables the passwords of ``hvars`` are read from."""
    refs = [_ref(hvars.get(k)) for k in SECRET_KEYS]
    return {r.name for r in refs if r is not None and r.kind == "env"}


def connection_inventory_problems(source: str, hostvars: Mapping[str, Mapping[str, Any]],
                                  ) -> list[str]:
    """esms-baseline variables a connection inventory sets that it may not (role internals)."""
    problems: list[str] = []
    for host, hv in sorted(hostvars.items()):
        for key in sorted(hv):
            if key.startswith("esms_") and key not in CONNECTION_INVENTORY_VARS:
                problems.append(
                    f"{host}: the inventory {source} sets {key!r}, a role setting: role "
                    "settings come from the site profile only (an inventory may set "
                    f"Ansible's connection variables and {', '.join(sorted(CONNECTION_INVENTORY_VARS))})")
            elif key in CONNECTION_INVENTORY_VARS:
                problems += _trusted_value_problems(host, key, hv[key])
    return problems


def _trusted_value_problems(host: str, key: str, value: Any) -> list[str]:
    """Even trusted settings stay one line each: each is one ssh_config / known_hosts line."""
    items = value if isinstance(value, list) else [value]
    if key == "esms_backup_ssh_known_hosts" and not isinstance(value, list):
        return [f"{host}: {key} must be a list of known_hosts lines"]
    for item in items:
        if not isinstance(item, str) or bad_char(item) is not None:
            return [f"{host}: {key} must be single-line text (no control character)"]
    return []
