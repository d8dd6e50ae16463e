"""The site's vault file (``secrets.vault_file``) may hold only the profile's secrets.

Ansible reads it as extra variables (``-e @file``: the highest precedence, on every host), so
any other variable in it would override a connection setting (the enforced host key options),
a role internal or a host variable. :func:`check_vault_file` decrypts it with Ansible's own
loader and refuses it before anything runs (docs/host-keys.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from esms_baseline.errors import RunError
from esms_baseline.plan import Plan


def _vault_names(plan: Plan) -> set[str]:
    """The variables of the site's vault file the profile references."""
    refs: list[Any] = [u.initial_password for u in plan.profile.accounts.users]
    refs.append(plan.profile.backup.password)
    refs += [v for h in plan.profile.inventory.hosts.values() for v in h.vars.values()]
    names = {r.name for r in refs if getattr(r, "kind", None) == "vault"}
    names |= {str(r["vault"]) for r in refs if isinstance(r, Mapping) and set(r) == {"vault"}}
    return names


def check_vault_file(plan: Plan, vault_file: Path, pw_file: Path) -> None:
    """Ansible reads the site's vault file as extra variables (``-e @file``: the highest
    precedence, on every host): a variable the profile does not reference, or one named like
    an Ansible or esms-baseline variable, would override a connection setting (the enforced
    host key options), a role internal or a host variable. Refused before anything runs."""
    from ansible.errors import AnsibleError
    from ansible.parsing.dataloader import DataLoader
    from ansible.parsing.vault import get_file_vault_secret

    from esms_baseline.profile.exposure import reserved_vault_name

    try:
        loader = DataLoader()
        secret = get_file_vault_secret(filename=str(pw_file), vault_id="site", loader=loader)
        secret.load()
        loader.set_vault_secrets([("site", secret)])
        data = loader.load_from_file(str(vault_file))
    except (AnsibleError, OSError) as exc:
        raise RunError(f"{vault_file}: cannot read the vault file: {exc}") from exc
    if not isinstance(data, Mapping):
        raise RunError(f"{vault_file}: the vault file must define variables (a mapping)")
    wanted = _vault_names(plan)
    bad = sorted(str(k) for k in data if str(k) not in wanted or reserved_vault_name(str(k)))
    if bad:
        raise RunError(
            f"{vault_file}: the vault file defines variables the profile does not reference "
            f"as {{vault: name}}, or named like an Ansible or esms-baseline variable: "
            f"{', '.join(bad)}. Ansible reads it as extra variables, which override every "
            "other setting on every host: keep only the profile's secrets in it")
