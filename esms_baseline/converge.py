"""Converge: check first, then apply only what the check found failing (``apply --drifted``).

A nightly enforcement of compliant hosts then costs about one ``check`` (read-only, one SSH
connection per host) instead of a full Ansible run; a drifted host gets only the tasks of its
failing controls (Ansible tags, plus the ``always`` pre-flight lockout checks).

Which controls are re-applied, per host (:func:`targets`):

- a control whose verdict is ``fail`` or ``error`` (the check could not tell) and that is
  automated and implemented on the host's platform (an organisational control has no task);
- every control of a host the check could not reach (``unreachable``) or did not report on:
  a full apply, which reports the host unreachable again if it still is;
- never a control that passes, is not applicable or is excepted.

Hosts that need the same controls are applied together, one Ansible run per distinct set;
past ``max_runs`` sets, the remaining hosts are applied in one run with the union of their
controls (a control re-applied on a host where it passes changes nothing: that is what the
idempotence tests prove). Safety: a control's tasks select, through their tags, every task
they depend on (tests/unit/test_converge.py checks the roles statically; the lab test
tests/integration/test_converge.py breaks controls and proves that ``--drifted`` repairs them,
touches nothing else, and that a full apply afterwards changes nothing).
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from esms_baseline.catalogue import load_catalogue
from esms_baseline.conformance import check
from esms_baseline.errors import RunError
from esms_baseline.plan import Plan, build_check_plan, build_plan
from esms_baseline.profile import SiteProfile
from esms_baseline.results import ApplyResult, CheckResult, HostApply, Verdict
from esms_baseline.run import Progress, apply

#: Verdicts that make a control re-applied.
REAPPLY = frozenset({Verdict.FAIL, Verdict.ERROR})
#: Tag of the playbook's last play (the compliance fact file /etc/esms-baseline/applied.json).
RECORD_TAG = "record"
#: A host's entry in :func:`targets` when every control must be applied (host unreachable).
ALL: frozenset[str] = frozenset({"*"})


@dataclass(frozen=True)
class DriftedApply:
    """What ``apply --drifted`` did: the check, then the runs of the drifted hosts."""

    check: CheckResult
    #: host -> controls re-applied there (``ALL``: a full apply); compliant hosts are absent
    targets: dict[str, frozenset[str]]
    #: one per Ansible run (hosts needing the same controls run together)
    runs: tuple[ApplyResult, ...]
    #: the runs merged, every planned host included (compliant ones with nothing done)
    result: ApplyResult


def targets(result: CheckResult, plan: Plan) -> dict[str, frozenset[str]]:
    """Host -> controls to re-apply there, from a check of the plan's hosts (see module doc)."""
    cat = load_catalogue()
    platform = {h.name: h.platform for h in plan.hosts}
    out: dict[str, set[str]] = {}
    for r in result.results:
        if r.host not in platform:
            continue
        if r.verdict is Verdict.UNREACHABLE:
            out[r.host] = set(ALL)
            continue
        if r.verdict not in REAPPLY or out.get(r.host) == set(ALL):
            continue
        try:
            control = cat.get(r.control)
        except KeyError:
            continue
        if control.kind == "automated" and control.implemented_on(platform[r.host]):
            out.setdefault(r.host, set()).add(r.control)
    for host in set(platform) - {r.host for r in result.results}:
        out[host] = set(ALL)  # the check said nothing about it: never take silence for compliance
    return {h: frozenset(c) for h, c in out.items() if c}


def batches(todo: Mapping[str, frozenset[str]], max_runs: int = 4) -> list[tuple[tuple[str, ...], frozenset[str]]]:
    """Group hosts by the controls they need: [(hosts, controls)], biggest groups first; past
    ``max_runs`` groups, the rest goes into one last group with the union of its controls (or
    ``ALL`` if one of them is a full apply)."""
    max_runs = max(1, max_runs)
    groups: dict[frozenset[str], list[str]] = {}
    for host, controls in sorted(todo.items()):
        groups.setdefault(controls, []).append(host)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), sorted(kv[0])))
    out = [(tuple(hosts), controls) for controls, hosts in ordered[: max_runs - 1]]
    rest = ordered[max_runs - 1:]
    if len(rest) == 1:
        out.append((tuple(rest[0][1]), rest[0][0]))
    elif rest:
        union = frozenset().union(*(c for c, _ in rest))
        out.append((tuple(sorted(h for _, hs in rest for h in hs)), ALL if "*" in union else union))
    return out


def apply_drifted(
    profile: SiteProfile,
    *,
    inventory: Path | None = None,
    limit: str | None = None,
    forks: int = 10,
    check_forks: int = 20,
    max_runs: int = 4,
    artifacts_dir: Path | None = None,
    vault_password_file: Path | None = None,
    progress: Callable[[Progress], None] | None = None,
    checked: Callable[[CheckResult, dict[str, frozenset[str]]], None] | None = None,
) -> DriftedApply:
    """Check the profile's hosts, then apply, per host, only the controls found failing.

    ``checked`` is called between the check and the apply (e.g. to show what will be done).
    Raises what :func:`build_plan`, :func:`check` and :func:`apply` raise.
    """
    started = _dt.datetime.now(_dt.UTC)
    plan = build_plan(profile, inventory=inventory, limit=limit)
    missing = sorted({env for env in plan.secret_env.values() if not os.environ.get(env)})
    if missing:  # refused before anything runs, as a full apply would be
        raise RunError("secrets (initial passwords, the backup repository password) are read "
                       "from the environment, but these variables are not set: " + ", ".join(missing))
    check_result = check(build_check_plan(profile, inventory, limit), forks=check_forks)
    todo = targets(check_result, plan)
    if checked is not None:
        checked(check_result, todo)
    runs = []
    for hosts, controls in batches(todo, max_runs):
        sub = replace(plan, hosts=tuple(h for h in plan.hosts if h.name in hosts))
        runs.append(apply(
            sub,
            # "record": the compliance fact file of play 3, as after a full apply (the check
            # found every other control passing)
            controls=None if controls == ALL else [*sorted(controls), RECORD_TAG],
            forks=forks,
            artifacts_dir=artifacts_dir,
            vault_password_file=vault_password_file,
            progress=progress,
        ))
    return DriftedApply(check=check_result, targets=todo, runs=tuple(runs),
                        result=_merge(plan, runs, started))


def _merge(plan: Plan, runs: Sequence[ApplyResult], started: _dt.datetime) -> ApplyResult:
    done = {h.host: h for r in runs for h in r.hosts}
    statuses = {r.status for r in runs}
    return ApplyResult(
        site=plan.profile.site.name,
        started=started,
        finished=_dt.datetime.now(_dt.UTC),
        status="successful" if statuses <= {"successful"} else min(statuses - {"successful"}),
        hosts=tuple(done.get(h.name, HostApply(host=h.name)) for h in plan.hosts),
        artifacts_dir=", ".join(r.artifacts_dir for r in runs),
        excepted={h.name: tuple(sorted(h.excepted)) for h in plan.hosts if h.excepted},
    )
