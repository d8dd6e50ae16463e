"""Which hosts a run may touch: host-key verification of a plan's SSH hosts (refused hosts
are left out of the run, docs/host-keys.md), the run's own host group and ``--limit``, the
result of a run where no host could be verified, and the ``ansible-playbook`` to run.
Used by :mod:`esms_baseline.run`."""

from __future__ import annotations

import datetime as _dt
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from esms_baseline import hostkeys
from esms_baseline.errors import RunError
from esms_baseline.plan import Plan
from esms_baseline.results import ApplyResult, HostApply

#: The group of the hosts a run may touch (written by :func:`write_run_group`).
RUN_GROUP = "esms_run_hosts"


def write_run_group(directory: Path, run_hosts: Sequence[str]) -> Path:
    """An inventory with the group :data:`RUN_GROUP` of exactly the run's hosts."""
    path = directory / "esms-run.yml"
    doc = {"all": {"children": {RUN_GROUP: {"hosts": {h: None for h in run_hosts}}}}}
    path.write_text("# Written by esms-baseline: the hosts of this run.\n"
                    + yaml.safe_dump(doc, sort_keys=True), encoding="utf-8")
    return path


def run_limit(run_hosts: Sequence[str], refused: Mapping[str, str]) -> str:
    """Ansible's ``--limit`` for a run: the hosts to run, only those (``&`` the run's group),
    each refused host excluded. A limit word is an Ansible pattern, not a host name: a
    planned host named like a group of the connection inventory took in that group's hosts,
    a host whose key was refused (no enforced ssh options) or one the plan never verified."""
    return ",".join([*run_hosts, f"&{RUN_GROUP}", *(f"!{h}" for h in sorted(refused))])


def verify_host_keys(
    plan: Plan, site_inventory: Path, state_dir: Path | None, trust_on_first_use: bool
) -> tuple[dict[str, str], Path | None]:
    """Verify the host keys of the plan's SSH hosts. Returns the refused hosts (name ->
    message) and an inventory that gives each verified host its enforced ``ansible_ssh_args``."""
    site_file = hostkeys.site_known_hosts(plan.profile.site.name, state_dir)
    endpoints = hostkeys.inventory_endpoints(
        [*plan.inventory_sources, site_inventory], plan.host_names, site_file)
    # a connection that ignores the enforced options (paramiko) cannot be verified at all
    refused = {n: ep.refusal for n, ep in endpoints.items() if ep.refusal}
    checks = hostkeys.verify_all([ep for ep in endpoints.values() if not ep.refusal],
                                 trust_on_first_use=trust_on_first_use)
    # unknown or changed keys: left out. Unreachable ones stay in the run (Ansible reports
    # them) with the same enforced options, so a host that comes back is still verified.
    refused.update({n: c.message for n, c in checks.items()
                    if c.status in (hostkeys.KeyStatus.UNKNOWN, hostkeys.KeyStatus.CHANGED)})
    verified = {n: ep for n, ep in endpoints.items() if n not in refused}
    if not verified:
        return refused, None
    doc = {"all": {"hosts": {n: {"ansible_ssh_args": hostkeys.ansible_ssh_args(ep)}
                             for n, ep in verified.items()}}}
    path = site_inventory.parent / "esms-hostkeys.yml"
    path.write_text("# Written by esms-baseline: verified host keys (docs/host-keys.md).\n"
                    + yaml.safe_dump(doc, sort_keys=True), encoding="utf-8")
    # Ansible's own reading of all the inventories: a host whose enforced options would be
    # replaced (a host_vars/ file's ansible_ssh_args has a higher precedence) is left out.
    refused.update(hostkeys.unenforced([*plan.inventory_sources, site_inventory, path], verified))
    return refused, path


def refused_result(
    plan: Plan, refused: Mapping[str, str], started: _dt.datetime, private: Path, check_mode: bool
) -> ApplyResult:
    """The result of a run where no host could be verified: nothing was started."""
    return ApplyResult(
        site=plan.profile.site.name,
        started=started,
        finished=_dt.datetime.now(_dt.UTC),
        status="refused",
        hosts=tuple(HostApply(host=h.name, unreachable=True, errors=(refused.get(h.name, ""),))
                    for h in plan.hosts),
        artifacts_dir=str(private / "artifacts" / "run"),
        check_mode=check_mode,
        excepted={h.name: tuple(sorted(h.excepted)) for h in plan.hosts if h.excepted},
    )


def ansible_playbook_path() -> str:
    """The ansible-playbook of this environment (next to our Python), else the one on PATH:
    an installed esms-baseline runs its own pinned Ansible even when its bin folder is not
    on PATH."""
    here = Path(sys.executable).parent / "ansible-playbook"
    if here.exists():
        return str(here)
    found = shutil.which("ansible-playbook")
    if not found:
        raise RunError("ansible-playbook not found: is ansible-core installed?")
    return found
