"""``esms-baseline drift site.yml``: check, record in the history, compare with the previous
run of the site, print the drift per host, notify on new drift.

Exit status (docs/report.md): 0 no failure, 1 failures but none new, 2 bad profile or usage,
3 incomplete run (and nothing new), 4 NEW failures since the previous run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from esms_baseline.drift import EXIT_KNOWN_FAILURES, Drift, compare, format_text
from esms_baseline.history import RUN_ID_KEY, History
from esms_baseline.notify import NotifyError, NotifySettings, notify, settings_from_env
from esms_baseline.results import CheckResult

#: ``(profile, inventory, limit, forks) -> CheckResult``: how a drift run checks the site.
CheckFn = Callable[[Any, "Path | None", "str | None", int], CheckResult]


def add_notify_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("notification of new drift (also from ESMS_* variables)")
    g.add_argument("--notify-smtp", metavar="HOST:PORT",
                   help="SMTP relay to e-mail new drift to (env ESMS_NOTIFY_SMTP)")
    g.add_argument("--mail-to", metavar="ADDR[,ADDR]", help="recipients (env ESMS_MAIL_TO)")
    g.add_argument("--mail-from", metavar="ADDR", help="sender (env ESMS_MAIL_FROM)")
    g.add_argument("--webhook", metavar="URL",
                   help="URL that receives the drift as a JSON POST (env ESMS_WEBHOOK_URL)")


def _free_exit_code(text: str) -> int:
    """An exit status 5..125 (0-4 have their own meaning; above 125 the shell's own)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 5 <= value <= 125:
        raise argparse.ArgumentTypeError("expected 5..125 (0-4 have their own meaning)")
    return value


def register(sub: Any) -> None:
    p = sub.add_parser(
        "drift",
        help="check, record and compare with the previous run (new drift exits 4)",
        description=(
            "Check the site, record the result in the history, compare it with the previous "
            "run of the same site and list, per host, new failures, resolved failures and "
            "still-failing controls. Exit status: 0 no failure, 1 failures but none new, "
            "2 bad profile or usage, 3 incomplete run, 4 NEW failures."
        ),
    )
    p.add_argument("profile", type=Path, nargs="+",
                   help="the site profile (site.yml); several, or a folder: a fleet (docs/fleet.md)")
    p.add_argument("-i", "--inventory", type=Path,
                   help="Ansible inventory (overrides the profile's)")
    p.add_argument("-l", "--limit", help="only these hosts or groups (comma-separated)")
    p.add_argument("-f", "--forks", type=int, default=20,
                   help="hosts whose facts are collected at once (default 20)")
    p.add_argument("--history", type=Path, metavar="FILE",
                   help="history database (default $ESMS_HISTORY, else the state dir)")
    p.add_argument("--json", action="store_true", help="print the drift as JSON")
    p.add_argument("--lang", choices=("fr", "en"), default="fr", help="language of the output")
    p.add_argument("--known-failures-exit", type=_free_exit_code, default=1, metavar="N",
                   help="exit with N instead of 1 for 'failures, none new' (the nightly unit "
                        "uses 10, so that a crash, which exits 1, never reads as success)")
    add_notify_arguments(p)
    from esms_baseline.cli.fleet_cmd import add_fleet_arguments

    add_fleet_arguments(p)
    from esms_baseline.cli.worker_opts import add_worker_arguments

    add_worker_arguments(p)
    p.set_defaults(func=run)


def notify_settings(args: argparse.Namespace) -> NotifySettings:
    return settings_from_env(smtp=args.notify_smtp, mail_from=args.mail_from,
                             mail_to=args.mail_to, webhook_url=args.webhook, lang=args.lang)


def checked_notify_settings(args: argparse.Namespace) -> NotifySettings | None:
    """The notification settings, checked; None (after saying why) when they are wrong."""
    try:
        settings = notify_settings(args)
        settings.check()
    except NotifyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    return settings


def default_check(profile: Any, inventory: Path | None, limit: str | None,
                  forks: int) -> CheckResult:
    from esms_baseline.conformance import check
    from esms_baseline.plan import build_check_plan

    return check(build_check_plan(profile, inventory, limit), forks=forks)


def record_and_compare(result: CheckResult, history: History) -> Drift:
    """Record ``result`` and compare it with the previous run of its site."""
    run_id = history.record(result)
    current = dataclasses.replace(result, details={**result.details, RUN_ID_KEY: run_id})
    return compare(history.previous(result.site, run_id), current)


def run(args: argparse.Namespace, *, check_fn: CheckFn | None = None) -> int:
    from esms_baseline.cli.fleet_cmd import fleet_or_single
    from esms_baseline.cli.worker_opts import worker_check_fn
    from esms_baseline.profile import load_profile

    fleet_status = fleet_or_single(args, "drift")
    if fleet_status is not None:
        return fleet_status
    if args.forks < 1:
        print("error: --forks must be at least 1", file=sys.stderr)
        return 2
    settings = checked_notify_settings(args)
    if settings is None:
        return 2
    profile = load_profile(args.profile)  # ProfileError -> exit 2 in the CLI shell
    remote = worker_check_fn(args)
    if check_fn is None and remote is not None:
        from esms_baseline.plan import build_check_plan

        result = remote(build_check_plan(profile, args.inventory, args.limit), forks=args.forks)
    else:
        result = (check_fn or default_check)(profile, args.inventory, args.limit, args.forks)
    with History(args.history) as history:
        drift = record_and_compare(result, history)
    if args.json:
        json.dump(drift.to_dict(), sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(format_text(drift, lang=args.lang))
    outcome = notify(drift, settings)
    for channel in outcome.sent:
        print(f"notified: {channel}", file=sys.stderr)
    for err in outcome.errors:
        print(f"warning: notification failed: {err}", file=sys.stderr)
    if drift.exit_code == EXIT_KNOWN_FAILURES:
        return int(args.known_failures_exit)
    return drift.exit_code
