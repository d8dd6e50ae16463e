"""``esms-baseline validate PROFILE...``: check site profiles, list every problem."""

from __future__ import annotations

import argparse
import datetime
import sys
from typing import Any

from esms_baseline.profile import SiteProfile, validate_file


def register(sub: Any) -> None:
    p = sub.add_parser(
        "validate",
        help="check a site profile (schema and consistency) without touching any host",
        description=(
            "Check site profiles: every problem is listed as file:line:col: field: message. "
            "Exit status 0 when all are valid, 2 otherwise."
        ),
    )
    p.add_argument("profiles", nargs="+", metavar="PROFILE", help="site profile (YAML)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing when valid")
    p.add_argument("--today", type=datetime.date.fromisoformat, default=None,
                   metavar="YYYY-MM-DD", help="date to check exception expiry against")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    status = 0
    for path in args.profiles:
        profile, problems = validate_file(path, today=args.today)
        if profile is None:
            for problem in problems:
                print(problem, file=sys.stderr)
            print(f"{path}: {len(problems)} error(s); the profile is not valid.",
                  file=sys.stderr)
            status = 2
        elif not args.quiet:
            print(summary(path, profile))
    return status


def summary(path: str, profile: SiteProfile) -> str:
    inv = profile.inventory
    hosts = ", ".join(inv.hosts) or (str(inv.path) if inv.path else "none")
    users = profile.accounts.users
    departed = sum(1 for u in users if u.state == "departed")
    lines = [
        f"{path}: valid profile for {profile.site.name} (FINESS {profile.site.finess})",
        f"  hosts: {len(inv.hosts)} ({hosts})" if inv.hosts else f"  inventory: {hosts}",
        f"  groups: {', '.join(inv.groups) or 'none'}",
        (f"  users: {len(users)} ({len(profile.accounts.admins)} admin, {departed} departed); "
         f"management account: {profile.accounts.management_account}"),
        (f"  passwords: {profile.passwords.preset or 'explicit'}, min "
         f"{profile.passwords.min_length} characters"),
    ]
    if profile.exceptions:
        for e in profile.exceptions:
            who = ", ".join([*e.hosts, *(f"group {g}" for g in e.groups)])
            lines.append(f"  excepted: {e.control} on {who} until {e.expires}")
    else:
        lines.append("  excepted: no control")
    return "\n".join(lines)
