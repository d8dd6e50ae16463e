"""``esms-baseline windows probe site.yml HOST``: read-only first contact with a Windows host.

Prints a readiness table (or ``--json``) and exits 0 only if an apply can proceed: 1 when a
check blocks, 2 on bad input, 3 when the host cannot be reached at all.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from esms_baseline.plan import _ansible_inventory_list, build_plan
from esms_baseline.profile import load_profile
from esms_baseline.windows.connection import WinRMConfigError, settings_from_hostvars
from esms_baseline.windows.desired import desired_state
from esms_baseline.windows.probe import Setting, render_table, run_probe

#: Controls whose state is more than single registry/policy values: the probe shows their
#: current state as the conformance rule reads it (accounts, firewall rules, antivirus, backups,
#: providers' accounts, remote-control software, logon audit and Security log).
CONTROL_ROWS = ("ESMS-ACC-01", "ESMS-ACC-02", "ESMS-ACC-03", "ESMS-ACC-04", "ESMS-ACC-05",
                "ESMS-FW-02", "ESMS-FW-03", "ESMS-AV-01", "ESMS-AV-02", "ESMS-BAK-01",
                "ESMS-PRV-01", "ESMS-PRV-02", "ESMS-PRV-03")


def control_settings(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> list[Setting]:
    """One row per control of CONTROL_ROWS: what the rule finds now and what it expects."""
    from esms_baseline.conformance.rules import RULES, FactsUnavailable

    rows = []
    for cid in CONTROL_ROWS:
        try:
            o = RULES["windows"][cid](facts, variables)
        except FactsUnavailable as exc:
            rows.append(Setting(cid, "(not readable)", str(exc), "", False))
            continue
        if o.passed is None:
            continue
        rows.append(Setting(cid, o.message if not o.passed else "as the profile asks",
                            json.dumps(o.found, ensure_ascii=False, default=str),
                            json.dumps(o.expected, ensure_ascii=False, default=str),
                            o.passed is False))
    return rows


def register(sub: Any) -> None:
    p = sub.add_parser("windows", help="Windows hosts: read-only probe before a first apply")
    wsub = p.add_subparsers(dest="windows_command", metavar="ACTION")
    probe = wsub.add_parser("probe", help="check that an apply can proceed on a Windows host "
                                          "(reads only)")
    probe.add_argument("profile", type=Path, help="the site profile (site.yml)")
    probe.add_argument("host", help="the Windows host, as named in the inventory")
    probe.add_argument("-i", "--inventory", type=Path,
                       help="Ansible inventory (overrides the profile's)")
    probe.add_argument("--json", action="store_true", help="print the report as JSON")
    probe.set_defaults(func=run_probe_cmd)
    p.set_defaults(func=lambda _args: (p.print_help(sys.stderr), 2)[1])


def run_probe_cmd(args: argparse.Namespace) -> int:
    profile = load_profile(args.profile)
    plan = build_plan(profile, inventory=args.inventory, limit=args.host)
    matches = [h for h in plan.hosts if h.name == args.host]
    if not matches:
        print(f"error: {args.host} is not a host of {args.profile}", file=sys.stderr)
        return 2
    h = matches[0]
    if h.platform != "windows":
        print(f"error: {h.name} is a {h.platform} host, not a Windows one", file=sys.stderr)
        return 2
    hostvars: dict[str, Any] = {}
    if plan.inventory_sources:
        hostvars = dict(_ansible_inventory_list(plan.inventory_sources)
                        .get("_meta", {}).get("hostvars", {}).get(h.name, {}))
    hostvars.update(h.connection_vars)
    try:
        settings = settings_from_hostvars(h.name, hostvars, os.environ)
    except WinRMConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = run_probe(h.name, settings, desired_state(h.vars),
                       extra=lambda facts: control_settings(facts, h.vars))
    if args.json:
        json.dump(report.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_table(report))
    if report.ready:
        return 0
    unreachable = any(c.name == "winrm-connection" and c.status == "block" for c in report.checks)
    return 3 if unreachable else 1
