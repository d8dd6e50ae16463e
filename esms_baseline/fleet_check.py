"""The fleet check (and drift) in ONE conformance run for all the valid sites.

``check_fleet(profiles, ...)``: every profile validated (a bad one is a failed site, the others
run); each valid site's plan built (``sites_parallel`` at a time, each inventory read once by
``ansible-inventory`` while the fleet is prepared); then
:func:`esms_baseline.conformance.fleet_run.check_many` checks all their hosts in one pytest
run (facts collected in one parallel pass, ``forks x sites_parallel`` hosts at a time, each
site's host keys verified against its own known_hosts) and splits the results back per site;
then each site is recorded, compared with its previous run and notified exactly as a
single-site check/drift does (:func:`esms_baseline.fleet.record_check`). Exit status:
:attr:`FleetResult.exit_code` (docs/fleet.md), unchanged.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from esms_baseline.conformance.model import CheckPlan
from esms_baseline.errors import EsmsError, PlanError
from esms_baseline.fleet import (
    EXIT_INCOMPLETE,
    FleetResult,
    SiteRun,
    guarded,
    record_check,
    validate_profiles,
)
from esms_baseline.profile import SiteProfile


def check_fleet(
    action: str,
    profiles: Sequence[Path],
    *,
    inventory: Path | None = None,
    forks: int = 20,
    sites_parallel: int = 2,
    history: Path | None = None,
    record: bool = True,
    notify_settings: Any = None,
    controls: Sequence[str] | None = None,
    on_done: Callable[[SiteRun], None] | None = None,
) -> FleetResult:
    """``action`` is ``check`` or ``drift`` (the site's status is then the drift status)."""
    from esms_baseline.conformance.fleet_run import check_many
    from esms_baseline.plan import build_check_plan, inventories_read_once

    if action not in ("check", "drift"):
        raise PlanError(f"check_fleet: unknown action {action!r}")
    if sites_parallel < 1 or forks < 1:
        raise PlanError("--forks and --sites-parallel must be at least 1")
    started = _dt.datetime.now(_dt.UTC)
    t0 = time.monotonic()

    def plan_of(path: Path, profile: SiteProfile) -> CheckPlan:
        return build_check_plan(profile, inventory)

    with inventories_read_once(), ThreadPoolExecutor(
            max_workers=sites_parallel, thread_name_prefix="esms-plan") as pool:
        # the shared -i inventory is read while the profiles are validated
        prefetch = (pool.submit(_read_quietly, inventory.resolve())
                    if inventory is not None and inventory.is_file() else None)
        good, bad = validate_profiles(profiles)
        results: dict[Path, SiteRun] = dict(bad)
        if on_done is not None:
            for r in bad.values():
                on_done(r)
        if prefetch is not None:
            prefetch.result()
        built = dict(zip(good, pool.map(lambda p: guarded(p, good[p], plan_of), list(good)),
                         strict=True))
        for path, got in built.items():
            if isinstance(got, SiteRun):
                done(results, path, got, t0, on_done)
        paths = [p for p, got in built.items() if isinstance(got, CheckPlan)]
        plans = [built[p] for p in paths]
        try:
            checked: list[Any] = check_many(plans, forks=forks * sites_parallel,
                                            controls=controls) if plans else []
        except EsmsError as exc:
            checked = [exc] * len(plans)
        except Exception as exc:  # noqa: BLE001 - reported for every site, never a traceback
            checked = [EsmsError(f"internal error: {type(exc).__name__}: {exc}")] * len(plans)

    for path, got in zip(paths, checked, strict=True):
        profile = good[path]
        if isinstance(got, EsmsError):
            run = SiteRun(profile=path, site=profile.site.name, exit_code=EXIT_INCOMPLETE,
                          errors=(str(got),))
        else:
            run = guarded(path, profile, functools.partial(
                _record, result=got, history=history, record=record,
                drift_exit=action == "drift", notify_settings=notify_settings))
        done(results, path, run, t0, on_done)
    return FleetResult(action=action, started=started, finished=_dt.datetime.now(_dt.UTC),
                       sites=tuple(results[p] for p in profiles))


def _read_quietly(source: Path) -> None:
    """Read an inventory into the cache; an error is each site's to report, later."""
    from esms_baseline.plan import _ansible_inventory_list

    try:
        _ansible_inventory_list([source])
    except EsmsError:
        pass


def _record(path: Path, _profile: SiteProfile, **kw: Any) -> SiteRun:
    return record_check(path, kw.pop("result"), **kw)


def done(results: dict[Path, SiteRun], path: Path, run: SiteRun, t0: float,
         on_done: Callable[[SiteRun], None] | None) -> None:
    run = dataclasses.replace(run, seconds=time.monotonic() - t0)
    results[path] = run
    if on_done is not None:
        on_done(run)


__all__ = ["check_fleet"]
