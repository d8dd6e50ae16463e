"""``esms-baseline report site.yml``: the report of the latest recorded check of the site.

It runs no check: it reads the history (``esms-baseline drift`` records runs). ``--run ID``
reports an earlier run. Formats: html (default, for the director), json (schema
``schemas/check-report.schema.json``), junit (CI), md (compact summary).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from esms_baseline.history import History
from esms_baseline.report import FORMATS, render


def register(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="report of the latest recorded check (html, json, junit, md)",
        description=("Render the latest check of the site recorded in the history (or "
                     "--run ID), in French by default, with the trend of the last runs."),
    )
    p.add_argument("profile", type=Path, nargs="*",
                   help="the site profile (site.yml); or give --site; with --fleet: "
                        "profiles or folders (default: every site of the history)")
    p.add_argument("--fleet", action="store_true",
                   help="one page for every site (-o DIR: index.html, a report per site, "
                        "fleet.json; --format json: the JSON on standard output)")
    p.add_argument("--site", help="the site name (instead of reading it from the profile)")
    p.add_argument("--format", choices=FORMATS, default="html", help="output format (html)")
    p.add_argument("-o", "--output", type=Path, metavar="FILE",
                   help="write to FILE (default: standard output)")
    p.add_argument("--lang", choices=("fr", "en"), default="fr", help="language (fr)")
    p.add_argument("--run", type=int, metavar="ID", help="this recorded run, not the latest")
    p.add_argument("--trend", type=int, default=12, metavar="N",
                   help="runs in the compliance trend (default 12)")
    p.add_argument("--history", type=Path, metavar="FILE",
                   help="history database (default $ESMS_HISTORY, else the state dir)")
    p.set_defaults(func=run)


def site_name(args: argparse.Namespace) -> str | None:
    if args.site:
        return str(args.site)
    if args.profile is None:
        return None
    from esms_baseline.profile import load_profile

    return load_profile(args.profile).site.name


def run(args: argparse.Namespace) -> int:
    if args.fleet:
        from esms_baseline.cli.fleet_cmd import fleet_report

        return fleet_report(args)
    if len(args.profile) > 1:
        print("error: several profiles: give --fleet", file=sys.stderr)
        return 2
    args.profile = args.profile[0] if args.profile else None
    site = site_name(args)
    if site is None and args.run is None:
        print("error: give the site profile, --site NAME or --run ID", file=sys.stderr)
        return 2
    with History(args.history) as history:
        if args.run is not None:
            result = history.get(args.run)
            if site is not None and result.site != site:
                print(f"error: run {args.run} is of site {result.site!r}, not {site!r}",
                      file=sys.stderr)
                return 2
        else:
            assert site is not None
            latest = history.latest(site)
            if latest is None:
                print(f"error: no recorded check of {site!r} in {history.path}; run "
                      f"`esms-baseline drift` first", file=sys.stderr)
                return 2
            result = latest
        runs = history.runs(result.site, limit=None)
        recorded = (history.latest_scan(result.site), history.latest_apply(result.site))
    trend = [r for r in runs if r.started <= result.started][: max(args.trend, 1)]
    text = render(result, args.format, lang=args.lang, history=trend, recorded=recorded)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        print(f"report written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
