"""``esms-baseline scan site.yml``: run the reference scanner (OpenSCAP, ANSSI-BP-028, the
site's tailoring) on the site's Debian hosts over SSH, compare it rule by rule with the
latest recorded check and record the agreement in the history, where ``report`` shows it
(docs/scanner.md).

Exit status: 0 every mapped rule agrees (or differs as scanner_map.yml explains), 1 an
unexpected difference, 2 usage (no recorded check), 3 a host could not be scanned.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from esms_baseline.history import History, run_id_of
from esms_baseline.results import CheckResult


def register(sub: Any) -> None:
    p = sub.add_parser(
        "scan",
        help="run OpenSCAP (ANSSI-BP-028, the site's tailoring) on the hosts and record its "
             "agreement with the latest check",
        description=(
            "Run `oscap xccdf eval` with the site's tailoring on each Debian host (OpenSCAP "
            "and ssg-debian must be installed there; host keys verified like check), compare "
            "each rule mapped in catalogue/scanner_map.yml with the latest recorded check, "
            "record the agreement in the history for `report`. Exit: 0 agreement, 1 an "
            "unexpected difference, 2 usage, 3 a host not scanned."),
    )
    p.add_argument("profile", type=Path, help="the site profile (site.yml)")
    p.add_argument("-i", "--inventory", type=Path, help="Ansible inventory (overrides the profile's)")
    p.add_argument("-l", "--limit", help="only these hosts or groups (comma-separated)")
    p.add_argument("--host-datastream", metavar="PATH",
                   help="the datastream's path on the hosts (default: where ssg-debian puts it)")
    p.add_argument("--json", action="store_true", help="print the recorded agreement as JSON")
    p.add_argument("--lang", choices=("fr", "en"), default="fr")
    p.add_argument("--history", type=Path, metavar="FILE",
                   help="history database (default $ESMS_HISTORY, else the state dir)")
    p.add_argument("--no-record", action="store_true", help="do not record the agreement")
    p.set_defaults(func=run)


def compare_and_record(history: History | None, check: CheckResult,
                       scans: Mapping[str, Mapping[str, str]],
                       versions: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
    """The agreement of ``check`` with the scanner results (host -> rule -> result) as a
    history payload, recorded in ``history`` (tied to the check's run) unless None."""
    from esms_baseline.scanner import agreement_rows
    from esms_baseline.scanner.record import scan_payload

    rows = agreement_rows(check, scans)
    payload = scan_payload(rows, check_run_id=run_id_of(check),
                           check_started=check.started.isoformat(), versions=versions)
    if history is not None:
        payload["scan_id"] = history.record_scan(check.site, run_id_of(check), payload)
    return payload


def run(args: argparse.Namespace) -> int:
    from esms_baseline.profile import load_profile
    from esms_baseline.scanner.content import HOST_DATASTREAM, datastream_path, load_datastream
    from esms_baseline.scanner.remote import scan_hosts

    profile = load_profile(args.profile)
    with History(args.history) as history:
        check = history.latest(profile.site.name)
        if check is None:
            print(f"error: no recorded check of {profile.site.name!r} in {history.path}: run "
                  "`esms-baseline check` first (the scan is compared with it)", file=sys.stderr)
            return 2
        ds = load_datastream() if datastream_path().is_file() else None
        scans = scan_hosts(profile, inventory=args.inventory, limit=args.limit, datastream=ds,
                           host_datastream=args.host_datastream or HOST_DATASTREAM)
        done = [s for s in scans if not s.error]
        for s in scans:
            if s.error:
                print(f"error: {s.host}: not scanned: {s.error}", file=sys.stderr)
            elif s.host not in check.hosts:
                print(f"note: {s.host} is not in the latest check (run "
                      f"{run_id_of(check)}): its rows say 'absent'", file=sys.stderr)
        if not done:
            return 3
        payload = compare_and_record(
            None if args.no_record else history, check, {s.host: s.rules for s in done},
            {s.host: (s.scanner, s.content) for s in done})
    if args.json:
        json.dump(payload, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        from esms_baseline.report.scanner_section import summary_text

        print(summary_text(payload, args.lang))
        for r in payload["rows"]:
            if r["status"] == "differ":
                print(f"  {r['host']:<12} {r['control']:<12} {r['rule']}: ours {r['ours']}, "
                      f"OpenSCAP {r['scanner']}")
    if len(done) < len(scans):
        return 3
    return 1 if payload["counts"]["differ"] else 0
