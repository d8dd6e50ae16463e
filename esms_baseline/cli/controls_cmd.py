"""``esms-baseline controls``: the control catalogue as a table or JSON."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from esms_baseline.catalogue import SOCLE, load_catalogue


def register(sub: Any) -> None:
    p = sub.add_parser("controls", help="list the controls of the baseline")
    p.add_argument("--json", action="store_true", help="print the catalogue as JSON")
    p.add_argument("--socle", type=int, choices=sorted(SOCLE), help="only this socle point")
    p.add_argument("--lang", choices=("fr", "en"), default="fr", help="language of titles")
    p.add_argument("--eol", action="store_true",
                   help="show the end-of-support table of ESMS-UPD-04 (dates, sources, age)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.eol:
        from esms_baseline.cli.eol_view import eol_text

        print(eol_text(lang=args.lang, as_json=args.json))
        return 0
    cat = load_catalogue()
    controls = cat.by_socle(args.socle) if args.socle else cat.controls
    if args.json:
        doc = {
            "controls": [c.to_dict() for c in controls],
            "presets": {
                name: {
                    "cnil_case": p.cnil_case,
                    "entropy_bits": p.entropy_bits,
                    "min_length": p.min_length,
                    "required_classes": list(p.required_classes),
                    "min_classes": p.min_classes,
                    "lockout": (
                        {"threshold": p.lockout_threshold, "unlock_minutes": p.lockout_unlock_minutes}
                        if p.lockout_threshold
                        else None
                    ),
                    "description": {"fr": p.description.fr, "en": p.description.en},
                }
                for name, p in cat.presets.items()
            },
        }
        json.dump(doc, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    rows = [("ID", "SOCLE", "KIND", "DEBIAN", "WINDOWS", "ANSSI", "TITLE")]
    for c in controls:
        rows.append(
            (
                c.id,
                str(c.socle),
                c.kind,
                c.platforms.get("debian", "-"),
                c.platforms.get("windows", "-"),
                ",".join(str(n) for n in c.anssi),
                c.title.get(args.lang),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(r[i].ljust(widths[i]) for i in range(len(widths))) + "  " + r[-1])
    if not args.socle or args.socle == 5:
        print()
        print("CNIL 2022 password presets:" if args.lang == "en" else "Préréglages CNIL 2022 :")
        for name, p in cat.presets.items():
            lock = (
                f", lockout {p.lockout_threshold} failures / {p.lockout_unlock_minutes} min"
                if p.lockout_threshold
                else ""
            )
            classes = ",".join(p.required_classes) or f"{p.min_classes} of 4 classes"
            print(f"  {name}: case {p.cnil_case} (>= {p.entropy_bits} bits): "
                  f"min {p.min_length} chars, {classes}{lock}")
    return 0
