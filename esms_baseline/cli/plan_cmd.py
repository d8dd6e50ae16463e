"""``esms-baseline plan site.yml [--host NAME]``: the variables each host would receive."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from esms_baseline.plan import build_plan
from esms_baseline.profile import load_profile


def register(sub: Any) -> None:
    p = sub.add_parser("plan", help="show what apply would configure on each host")
    p.add_argument("profile", type=Path, help="the site profile (site.yml)")
    p.add_argument("-i", "--inventory", type=Path, help="Ansible inventory (overrides the profile's)")
    p.add_argument("--host", help="only this host")
    p.add_argument("--secret-env", action="store_true",
                   help="only list the environment variables that must hold initial passwords")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    profile = load_profile(args.profile)
    plan = build_plan(profile, inventory=args.inventory, limit=args.host)
    if args.secret_env:
        for env in sorted(set(plan.secret_env.values())):
            print(env)
        return 0
    doc = {
        h.name: {
            "platform": h.platform,
            "groups": list(h.groups),
            "excepted": h.excepted,
            "vars": h.vars,
        }
        for h in plan.hosts
    }
    json.dump(doc, sys.stdout, ensure_ascii=False, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0
