"""``esms-baseline lab``: throwaway Debian hosts (systemd-nspawn) to rehearse on."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from esms_baseline import lab
from esms_baseline.errors import LabError
from esms_baseline.lab.image import SUITES


def _progress(msg: str) -> None:
    print(f"lab: {msg}", file=sys.stderr, flush=True)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "lab",
        help="throwaway Debian lab hosts (needs root)",
        description="Throwaway Debian hosts in systemd-nspawn containers, reached with SSH "
        "through nsenter. State dir: --state-dir, else $ESMS_LAB_DIR, else "
        "/var/lib/esms-baseline/lab.",
    )
    lab_sub = p.add_subparsers(dest="lab_command", metavar="ACTION")

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        q: argparse.ArgumentParser = lab_sub.add_parser(name, help=help_)
        q.add_argument(
            "--state-dir",
            type=Path,
            default=None,
            help="the lab's state directory (several labs can run at once)",
        )
        return q

    q = add("up", "bring N hosts up; prints the inventory path")
    q.add_argument("-n", "--count", type=int, default=3, help="number of hosts (default 3)")
    q.add_argument("--suite", choices=SUITES, default="bookworm", help="Debian release")
    q.add_argument(
        "--desktop", action="store_true", help="add what a GNOME session lock needs (dconf)"
    )
    q.add_argument("--fresh", action="store_true", help="recreate hosts even if running")
    q.set_defaults(func=_up)
    add("down", "stop every host and clean up").set_defaults(func=_down)
    add("status", "list hosts and their state").set_defaults(func=_status)
    add("inventory", "print the Ansible inventory path").set_defaults(func=_inventory)
    add("ssh-config", "print the ssh_config path").set_defaults(func=_ssh_config)
    q = add("offsite", "make a spare lab host the profile's off-site backup store (SFTP)")
    q.add_argument("profile", type=Path, help="the site profile (its backup.repository)")
    q.add_argument("--store", required=True, help="the lab host that plays the off-site store")
    q.set_defaults(func=_offsite)
    p.set_defaults(func=lambda _a: (p.print_help(sys.stderr), 2)[1])


def _up(args: argparse.Namespace) -> int:
    result = lab.up(
        args.count,
        suite=args.suite,
        desktop=args.desktop,
        state_dir=args.state_dir,
        fresh=args.fresh,
        progress=_progress,
    )
    print(result.inventory_path)
    return 0


def _down(args: argparse.Namespace) -> int:
    lab.down(args.state_dir)
    _progress("all hosts stopped")
    return 0


def _status(args: argparse.Namespace) -> int:
    result = lab.status(args.state_dir)
    if not result.hosts:
        print(f"no lab in {result.state_dir}")
        return 0
    rows = [("NAME", "STATE", "LEADER", "ROOT")]
    rows += [(h.name, h.state, str(h.leader_pid or "-"), str(h.root)) for h in result.hosts]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        print("  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3])
    return 0


def _running_lab(args: argparse.Namespace) -> lab.Lab:
    result = lab.status(args.state_dir)
    if not result.hosts or not result.inventory_path.is_file():
        raise LabError(f"no lab is up in {result.state_dir}: run `esms-baseline lab up`")
    return result


def _inventory(args: argparse.Namespace) -> int:
    print(_running_lab(args).inventory_path)
    return 0


def _ssh_config(args: argparse.Namespace) -> int:
    print(_running_lab(args).ssh_config_path)
    return 0


def _offsite(args: argparse.Namespace) -> int:
    from esms_baseline.lab.offsite import setup_offsite
    from esms_baseline.profile import load_profile

    profile = load_profile(args.profile)
    if not profile.backup.repository:
        raise LabError(f"{args.profile}: backup.repository is not set")
    running = _running_lab(args)
    names = {h.name for h in running.hosts}
    clients = [h for h in profile.hosts if h in names and profile.settings_for(h).backup_enabled]
    if not clients:
        raise LabError("no lab host of this profile backs up (backup.enabled, hosts, groups)")
    for link in setup_offsite(running, clients=clients, store=args.store,
                              repository=profile.backup.repository):
        _progress(f"{link.client} backs up to {link.user}@{link.host}:{link.path}, "
                  f"played by {link.store} (relay pid {link.relay_pid})")
    return 0
