"""``esms-baseline schedule install|remove site.yml``: the nightly drift check.

``install`` writes a systemd service and timer (``esms-baseline-drift-<site>``) and enables
the timer, or prints the crontab line where systemd does not run (or with ``--cron``).
``--root DIR`` installs into another root filesystem (an image, a lab host) without
starting anything. ``remove`` stops, disables and deletes them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from esms_baseline.history import default_history_path
from esms_baseline.schedule import (
    ScheduleError,
    ScheduleSpec,
    cron_line,
    install,
    parse_at,
    remove,
    render_units,
    spec_args,
)


def register(sub: Any) -> None:
    p = sub.add_parser("schedule", help="install or remove the nightly drift check (systemd/cron)")
    ssub = p.add_subparsers(dest="schedule_command", metavar="ACTION")
    i = ssub.add_parser("install", help="install and enable the nightly timer")
    i.add_argument("profile", type=Path,
                   help="the site profile (site.yml), or a folder of profiles: one timer "
                        "checks the whole fleet (docs/fleet.md)")
    i.add_argument("--sites-parallel", type=int, metavar="N",
                   help="for a folder: sites checked at once")
    i.add_argument("--at", default="02:30", help="time of day HH:MM (default 02:30)")
    i.add_argument("-i", "--inventory", type=Path, help="Ansible inventory for the check")
    i.add_argument("-l", "--limit", help="only these hosts or groups")
    i.add_argument("--history", type=Path, metavar="FILE",
                   help="history database the nightly run records into (default: this "
                        "user's, resolved now)")
    i.add_argument("--user", help="run the check as this user (default root)")
    i.add_argument("--root", type=Path, default=Path("/"),
                   help="install into this root filesystem (default /)")
    i.add_argument("--cron", action="store_true", help="print the crontab line instead")
    i.add_argument("--dry-run", action="store_true", help="print the units, install nothing")
    g = i.add_argument_group("notification (secrets belong in /etc/esms-baseline/notify.env)")
    g.add_argument("--notify-smtp", metavar="HOST:PORT")
    g.add_argument("--mail-to", metavar="ADDR[,ADDR]")
    g.add_argument("--mail-from", metavar="ADDR")
    g.add_argument("--webhook", metavar="URL")
    i.set_defaults(func=run_install)
    r = ssub.add_parser("remove", help="stop, disable and delete the nightly timer")
    r.add_argument("profile", type=Path, help="the site profile (site.yml) or the folder")
    r.add_argument("--root", type=Path, default=Path("/"), help="root filesystem (default /)")
    r.set_defaults(func=run_remove)
    p.set_defaults(func=lambda args: _usage(p))


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return 2


def _site(profile: Path) -> str:
    from esms_baseline.profile import load_profile

    if profile.is_dir():  # a fleet: one timer for every profile of the folder
        from esms_baseline.cli.fleet_cmd import fleet_schedule_name

        return fleet_schedule_name(profile)

    return load_profile(profile).site.name


def build_spec(args: argparse.Namespace) -> ScheduleSpec:
    extra: list[str] = []
    for flag, value in (("--notify-smtp", args.notify_smtp), ("--mail-to", args.mail_to),
                        ("--mail-from", args.mail_from), ("--webhook", args.webhook)):
        if value:
            extra += [flag, value]
    if args.sites_parallel:
        extra += ["--sites-parallel", str(args.sites_parallel)]
    history = (args.history or default_history_path()).resolve()
    return ScheduleSpec(site=_site(args.profile), profile=args.profile.resolve(), at=args.at,
                        drift_args=spec_args(inventory=args.inventory, limit=args.limit,
                                             extra=extra),
                        history=history, user=args.user)


def run_install(args: argparse.Namespace) -> int:
    try:
        parse_at(args.at)
    except ScheduleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    spec = build_spec(args)
    if args.dry_run:
        for name, text in render_units(spec).items():
            print(f"# {name}\n{text}")
        print(f"# crontab line where systemd is absent:\n{cron_line(spec)}")
        return 0
    if args.cron:
        print(cron_line(spec))
        return 0
    result = install(spec, root=args.root)
    if result.mode == "cron":
        print("systemd is not running here: add this line to root's crontab "
              "(crontab -e):", file=sys.stderr)
        print(result.cron_line)
        return 0
    for path in result.files:
        print(f"installed {path}")
    state = "enabled and started" if result.activated else "enabled (not started: --root)"
    print(f"{spec.timer} {state}: every day at {args.at}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    spec = ScheduleSpec(site=_site(args.profile), profile=args.profile.resolve())
    removed = remove(spec, root=args.root)
    for path in removed:
        print(f"removed {path}")
    if not removed:
        print(f"{spec.timer} was not installed under {args.root}", file=sys.stderr)
    return 0
