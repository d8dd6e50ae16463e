"""``esms-baseline check site.yml``: read-only conformance of the site's hosts.

Exit status: 0 every control passes (or is excepted / not applicable), 1 at least one
failure, 2 bad profile or usage, 3 the run is incomplete (unreachable host, error).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from esms_baseline.cli.fleet_cmd import add_fleet_arguments
from esms_baseline.cli.worker_opts import add_worker_arguments, worker_check_fn
from esms_baseline.conformance import check
from esms_baseline.conformance.report import render_text
from esms_baseline.conformance.runner import selected_controls
from esms_baseline.errors import PlanError


def register(sub: Any) -> None:
    p = sub.add_parser(
        "check",
        help="check the hosts' conformance to the site profile (read-only)",
        description=(
            "Collect each host's effective settings once (one SSH command, as root through "
            "sudo, nothing written) and evaluate every control of the profile against them. "
            "Exit status: 0 conformant, 1 failures, 2 bad profile or usage, 3 incomplete "
            "(unreachable host or error)."
        ),
    )
    p.add_argument("profile", type=Path, nargs="+",
                   help="the site profile (site.yml); several, or a folder: a fleet (docs/fleet.md)")
    p.add_argument("-i", "--inventory", type=Path, help="Ansible inventory (overrides the profile's)")
    p.add_argument("-l", "--limit", help="only these hosts or groups (comma-separated)")
    p.add_argument("--controls", help="only these control ids (comma-separated)")
    p.add_argument("-f", "--forks", type=int, default=20,
                   help="hosts whose facts are collected at once (default 20)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--junit-xml", type=Path, metavar="FILE", help="also write a JUnit report")
    p.add_argument("--save-facts", type=Path, metavar="DIR",
                   help="also save each host's collected facts as DIR/<host>.json")
    p.add_argument("--lang", choices=("fr", "en"), default="fr", help="language of the report")
    p.add_argument("--history", type=Path, metavar="FILE",
                   help="SQLite history to record the run in (default: $ESMS_HISTORY, "
                        "$ESMS_STATE_DIR/history.sqlite or ~/.local/state/esms-baseline/)")
    p.add_argument("--no-history", action="store_true", help="do not record the run")
    p.add_argument("--trust-on-first-use", action="store_true",
                   help="record the SSH host key of a host seen for the first time (never "
                        "a changed one); see docs/host-keys.md")
    p.add_argument("--since", choices=("last",),
                   help="compare with the previous recorded run and exit with the drift "
                        "status (4 = new failures; see `esms-baseline drift`)")
    add_fleet_arguments(p)
    add_worker_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from esms_baseline.cli.fleet_cmd import fleet_or_single

    fleet_status = fleet_or_single(args, "check")
    if fleet_status is not None:
        return fleet_status
    from esms_baseline.plan import build_check_plan
    from esms_baseline.profile import load_profile

    controls = [c.strip().upper() for c in args.controls.split(",")] if args.controls else None
    try:
        selected_controls(controls)
    except PlanError as exc:  # a usage error, found before touching any host
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.forks < 1:
        print("error: --forks must be at least 1", file=sys.stderr)
        return 2
    profile = load_profile(args.profile)  # ProfileError -> exit 2 in the CLI shell
    plan = build_check_plan(profile, args.inventory, args.limit)
    remote = worker_check_fn(args)
    if remote is not None:
        print(f"check through the worker {args.worker}", file=sys.stderr)
        result = remote(plan, forks=args.forks, controls=controls, junit_xml=args.junit_xml,
                        facts_dir=args.save_facts)
    else:
        result = check(plan, forks=args.forks, controls=controls, junit_xml=args.junit_xml,
                       facts_dir=args.save_facts, trust_on_first_use=args.trust_on_first_use)
    drift = None
    if not args.no_history:
        from esms_baseline.cli.drift_cmd import record_and_compare
        from esms_baseline.history import History

        with History(args.history) as history:
            drift = record_and_compare(result, history)
    if args.json:
        doc = result.to_dict()
        if args.since and drift is not None:
            doc["drift"] = drift.to_dict()
        json.dump(doc, sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(render_text(result, args.lang))
        if args.since and drift is not None:
            from esms_baseline.drift import format_text

            print()
            print(format_text(drift, lang=args.lang))
    if args.since:
        if drift is None:
            print("error: --since last needs the history (drop --no-history)", file=sys.stderr)
            return 2
        return drift.exit_code
    return result.exit_code
