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

    a = what.add_parser(
        "agreement",
        help="our latest recorded check next to OpenSCAP's results, rule by rule",
        description=(
            "Compare the latest check of the site recorded in the history (esms-baseline "
            "drift records it) with OpenSCAP results files (oscap xccdf eval --results), "
            "for each rule of catalogue/scanner_map.yml: html (a report section) or json."
        ),
    )
    a.add_argument("profile", type=Path, help="the site profile (site.yml)")
    a.add_argument("--oscap", action="append", required=True, metavar="HOST=RESULTS.xml",
                   help="OpenSCAP results of a host (repeat for several hosts)")
    a.add_argument("--format", choices=("html", "json"), default="html")
    a.add_argument("--lang", choices=("fr", "en"), default="fr")
    a.add_argument("-o", "--output", type=Path, metavar="FILE",
                   help="write to FILE (default: standard output)")
    a.add_argument("--history", type=Path, metavar="FILE",
                   help="history database (default $ESMS_HISTORY, else the state dir)")
    a.set_defaults(func=run_agreement)


def _write(args: argparse.Namespace, text: str, what: str) -> None:
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        print(f"{what} written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def run_agreement(args: argparse.Namespace) -> int:
    import json

    from esms_baseline.history import History
    from esms_baseline.report.scanner_section import agreement_document, agreement_html
    from esms_baseline.scanner import agreement_rows, parse_results

    scans: dict[str, dict[str, str]] = {}
    for item in args.oscap:
        host, sep, path = item.partition("=")
        if not sep or not host or not path:
            print(f"error: --oscap {item!r}: expected HOST=RESULTS.xml", file=sys.stderr)
            return 2
        scans[host] = parse_results(Path(path))
    profile = load_profile(args.profile)
    with History(args.history) as history:
        result = history.latest(profile.site.name)
        where = history.path
    if result is None:
        print(f"error: no recorded check of {profile.site.name!r} in {where}; run "
              "`esms-baseline drift` first", file=sys.stderr)
        return 2
    unknown = sorted(set(scans) - set(result.hosts))
    if unknown:
        print(f"error: not checked in the latest run: {', '.join(unknown)}", file=sys.stderr)
        return 2
    rows = agreement_rows(result, scans)
    if args.format == "json":
        text = json.dumps(agreement_document(rows), ensure_ascii=False, indent=2) + "\n"
    else:
        text = ('<!DOCTYPE html><html lang="' + args.lang + '"><head><meta charset="utf-8">'
                "<title>OpenSCAP</title></head><body>" + agreement_html(rows, args.lang)
                + "</body></html>\n")
    _write(args, text, "agreement")
    return 0


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
    _write(args, xml, "tailoring")
    return 0
