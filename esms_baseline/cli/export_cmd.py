"""``esms-baseline export tailoring site.yml``: files other tools read, generated from the
site profile. ``tailoring``: an XCCDF 1.2 tailoring file for OpenSCAP, so that the scanner
auditors run (ComplianceAsCode's ANSSI-BP-028 profile for Debian 12) judges each host
against the site's own values (esms_baseline.scanner.tailoring)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from esms_baseline.profile import load_profile
from esms_baseline.scanner.content import datastream_path, load_datastream
from esms_baseline.scanner.tailoring import export_tailoring


def register(sub: Any) -> None:
    p = sub.add_parser("export", help="export files for other tools (an OpenSCAP tailoring)")
    what = p.add_subparsers(dest="what", metavar="WHAT", required=True)
    t = what.add_parser(
        "tailoring",
        help="XCCDF tailoring file: OpenSCAP's ANSSI-BP-028 profile with the site's values",
        description=(
            "Write an XCCDF 1.2 tailoring file with one profile per Debian host "
            "(xccdf_org.esms-baseline_profile_<host>) extending ComplianceAsCode's "
            "anssi_bp28_intermediary, with the site's values and the rules mapped to the "
            "catalogue's controls. Then: oscap xccdf eval --tailoring-file FILE --profile "
            "xccdf_org.esms-baseline_profile_<host> ssg-debian12-ds.xml"
        ),
    )
    t.add_argument("profile", type=Path, help="the site profile (site.yml)")
    t.add_argument("-o", "--output", type=Path, metavar="FILE",
                   help="write to FILE (default: standard output)")
    t.add_argument("--host", help="only this host")
    t.add_argument("-i", "--inventory", type=Path, help="Ansible inventory (overrides the profile's)")
    t.add_argument("--datastream", type=Path, metavar="FILE",
                   help="check every rule and value id against this datastream (default: "
                        "the one scripts/fetch-scanner.sh cached, when present)")
    t.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    profile = load_profile(args.profile)
    ds_path = args.datastream or datastream_path()
    datastream = None
    if args.datastream or ds_path.is_file():
        datastream = load_datastream(ds_path)
    else:
        print(f"note: {ds_path} absent: rule and value ids not checked against the content",
              file=sys.stderr)
    xml = export_tailoring(profile, host=args.host, inventory=args.inventory,
                           datastream=datastream)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(xml, encoding="utf-8")
        print(f"tailoring written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(xml)
    return 0
