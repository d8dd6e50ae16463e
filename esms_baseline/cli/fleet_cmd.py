"""Fleet mode of ``check``, ``drift``, ``apply`` and ``report``: several profiles or a folder.

Not a subcommand of its own: the four commands call :func:`fleet_or_single` first; with one
profile file it returns None and the command goes on as before, with several profiles or a
folder it runs the fleet (``esms_baseline.fleet``) and returns the fleet exit status (the
highest status of its sites, docs/fleet.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

#: Options of the single-site commands that have no meaning for a fleet.
_SINGLE_ONLY = ("limit", "junit_xml", "save_facts", "since", "diff", "run", "site")


def add_fleet_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sites-parallel", type=int, default=2, metavar="N",
                   help="with several profiles or a folder: sites run at once (apply); "
                        "check/drift: one run for all sites, facts of at most forks x N "
                        "hosts collected at once (default 2)")


def fleet_schedule_name(folder: Path) -> str:
    """The name a fleet's timer is known by (``esms-baseline-drift-parc-<folder>``); the
    folder's profiles are validated now so that a timer never starts on a wrong folder."""
    from esms_baseline.errors import PlanError
    from esms_baseline.fleet import find_profiles, validate_profiles

    profiles = find_profiles([folder])
    if not profiles:
        raise PlanError(f"{folder}: no site profile in this folder")
    _, bad = validate_profiles(profiles)
    if bad:
        raise PlanError("; ".join(e for r in bad.values() for e in r.errors[:3]))
    return f"parc {folder.resolve().name}"


def is_fleet(paths: list[Path]) -> bool:
    return len(paths) > 1 or any(p.is_dir() for p in paths)


def fleet_or_single(args: argparse.Namespace, action: str) -> int | None:
    """Run ``action`` as a fleet when ``args.profile`` lists several profiles or a folder and
    return its exit status; else set ``args.profile`` to the single path and return None."""
    paths = list(args.profile) if isinstance(args.profile, list) else [args.profile]
    if not is_fleet(paths):
        args.profile = paths[0]
        return None
    profiles = _profiles(args, paths, action)
    if isinstance(profiles, int):
        return profiles
    return _run(args, action, profiles)


def _profiles(args: argparse.Namespace, paths: list[Path], action: str) -> list[Path] | int:
    for opt in _SINGLE_ONLY:
        if getattr(args, opt, None) not in (None, False):
            print(f"error: --{opt.replace('_', '-')} applies to one site, not to a fleet",
                  file=sys.stderr)
            return 2
    if action != "apply" and getattr(args, "worker", None):  # the fleet check has no worker path
        print("error: --worker with several profiles or a folder: only `apply` supports that yet",
              file=sys.stderr)
        return 2
    from esms_baseline.errors import PlanError
    from esms_baseline.fleet import find_profiles

    try:
        profiles = find_profiles(paths)
    except PlanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not profiles:
        print(f"error: no site profile in {', '.join(map(str, paths))}", file=sys.stderr)
        return 2
    return profiles


def _run(args: argparse.Namespace, action: str, profiles: list[Path]) -> int:
    from functools import partial

    from esms_baseline.fleet import SiteRun, apply_site, format_summary, run_fleet

    if args.forks < 1 or args.sites_parallel < 1:
        print("error: --forks and --sites-parallel must be at least 1", file=sys.stderr)
        return 2
    site_fn: Any = None
    settings = None
    controls = ([c.strip().upper() for c in args.controls.split(",") if c.strip()]
                if getattr(args, "controls", None) else None)
    if controls:  # a typo is a usage error, found before any site runs
        from esms_baseline.catalogue import load_catalogue
        from esms_baseline.conformance.runner import selected_controls
        from esms_baseline.errors import PlanError

        try:
            if action == "apply":
                unknown = [c for c in controls if c not in load_catalogue().ids]
                if unknown:
                    raise PlanError(f"unknown control id(s): {', '.join(unknown)}")
            else:
                selected_controls(controls)
        except PlanError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if action == "apply":
        from esms_baseline.cli.worker_opts import worker_apply_fn

        site_fn = partial(apply_site, inventory=args.inventory, forks=args.forks,
                          check_mode=args.check, artifacts_dir=args.artifacts_dir,
                          vault_password_file=args.vault_password_file,
                          apply_fn=worker_apply_fn(args), controls=controls,
                          history=args.history, record=not getattr(args, "no_history", False))
    elif action == "drift":
        from esms_baseline.cli.drift_cmd import checked_notify_settings

        settings = checked_notify_settings(args)
        if settings is None:
            return 2

    def done(run: SiteRun) -> None:
        print(f"  {run.site or run.profile}: exit {run.exit_code} ({run.seconds:.1f} s)",
              file=sys.stderr, flush=True)

    if action == "apply":
        print(f"{action}: {len(profiles)} site(s), {args.sites_parallel} at a time",
              file=sys.stderr)
        fleet = run_fleet(action, profiles, site_fn, sites_parallel=args.sites_parallel,
                          on_done=done)
    else:  # one conformance run for every site (esms_baseline.fleet_check)
        from esms_baseline.fleet_check import check_fleet

        print(f"{action}: {len(profiles)} site(s) in one run", file=sys.stderr)
        fleet = check_fleet(action, profiles, inventory=args.inventory, forks=args.forks,
                            sites_parallel=args.sites_parallel, history=args.history,
                            record=not getattr(args, "no_history", False),
                            notify_settings=settings, controls=controls, on_done=done)
    if getattr(args, "json", False):
        json.dump(fleet.to_dict(), sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(format_summary(fleet, getattr(args, "lang", "fr")))
    return fleet.exit_code


def fleet_report(args: argparse.Namespace) -> int:
    """``report --fleet [PROFILES|DIRS]``: the fleet page of the given sites, else of every
    site of the history."""
    from esms_baseline.history import History
    from esms_baseline.profile import load_profile
    from esms_baseline.report import render
    from esms_baseline.report.fleet import fleet_document, fleet_model, render_fleet_html

    sites: list[str] | None = None
    if args.profile:
        profiles = _profiles(args, list(args.profile), "report")
        if isinstance(profiles, int):
            return profiles
        sites = [load_profile(p).site.name for p in profiles]
    elif args.site:
        print("error: --site names one site; --fleet reports every site", file=sys.stderr)
        return 2
    with History(args.history) as history:
        model = fleet_model(history, sites, trend_runs=max(args.trend, 1))
        if args.format == "json" and args.output is None:
            json.dump(fleet_document(model), sys.stdout, ensure_ascii=False, indent=2)
            sys.stdout.write("\n")
            return 0
        if args.output is None:
            print("error: a fleet report is a folder of pages: give -o DIR", file=sys.stderr)
            return 2
        out: Path = args.output
        out.mkdir(parents=True, exist_ok=True)
        for s in model:
            if s.model is None:
                continue
            runs = history.runs(s.site, limit=max(args.trend, 1))
            (out / s.link).write_text(render(s.model.result, "html", lang=args.lang,
                                             history=runs), encoding="utf-8")
    (out / "index.html").write_text(render_fleet_html(model, lang=args.lang), encoding="utf-8")
    (out / "fleet.json").write_text(
        json.dumps(fleet_document(model), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    missing = [s.site for s in model if s.model is None]
    for name in missing:
        print(f"warning: no recorded check of {name!r}", file=sys.stderr)
    print(f"fleet report written to {out / 'index.html'} ({len(model)} site(s))", file=sys.stderr)
    return 0
