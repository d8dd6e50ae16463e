"""``esms-baseline trust site.yml``: first contact with a site's hosts, made explicit.

Reads the SSH host keys each host presents (through the inventory's own connection settings,
ProxyCommand included), shows their SHA256 fingerprints and, once confirmed (typed ``yes``,
or ``--yes``), records them in the site's known_hosts (docs/host-keys.md). A host whose
recorded key differs is refused unless ``--replace`` is given. Exit status: 0 recorded (or
already known), 2 usage, 3 a host could not be read or was refused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("trust", help="record the SSH host keys of the site's hosts (first contact)")
    p.add_argument("profile", type=Path, help="the site profile (site.yml)")
    p.add_argument("-i", "--inventory", type=Path, help="Ansible inventory (overrides the profile's)")
    p.add_argument("--host", action="append", default=[], metavar="HOST",
                   help="only this host (repeatable; default: every host of the site)")
    p.add_argument("--yes", action="store_true",
                   help="record without asking (the fingerprints are still printed)")
    p.add_argument("--replace", action="store_true",
                   help="replace a recorded key that changed (after checking it on the host)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from esms_baseline import hostkeys
    from esms_baseline.plan import build_plan
    from esms_baseline.profile import load_profile

    profile = load_profile(args.profile)
    plan = build_plan(profile, inventory=args.inventory, limit=",".join(args.host) or None)
    site_file = hostkeys.site_known_hosts(profile.site.name)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="esms-trust-") as tmp:
        site_inv = plan.write_inventory(Path(tmp))
        endpoints = hostkeys.inventory_endpoints(
            [*plan.inventory_sources, site_inv], plan.host_names, site_file)
    status = 0
    for name in plan.host_names:
        ep = endpoints.get(name)
        if ep is None:
            print(f"{name}: not an SSH host, nothing to record")
            continue
        current = hostkeys.verify(ep)
        if current.status is hostkeys.KeyStatus.VERIFIED:
            print(f"{name}: host key already known ({ep.lookup})")
            continue
        if current.status is hostkeys.KeyStatus.UNREACHABLE:
            print(f"error: {name}: {current.message}", file=sys.stderr)
            status = 3
            continue
        if current.status is hostkeys.KeyStatus.CHANGED and not args.replace:
            print(f"error: {current.message}", file=sys.stderr)
            status = 3
            continue
        try:
            keys = hostkeys.fetch(ep)
        except hostkeys.HostKeyError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 3
            continue
        print(f"{name} ({ep.lookup}) presents:")
        for k in keys:
            print(f"  {k.key_type:<22} {k.fingerprint}")
        if not args.yes:
            answer = input(f"Do these match the fingerprints read on {name}'s console "
                           "(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub)? [yes/no] ")
            if answer.strip().lower() != "yes":
                print(f"{name}: not recorded")
                status = 3
                continue
        path = hostkeys.record(ep, keys, replace=current.status is hostkeys.KeyStatus.CHANGED)
        print(f"{name}: recorded in {path}")
    return status
