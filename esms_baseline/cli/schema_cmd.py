"""``esms-baseline schema``: print the JSON Schema of the site profile."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from esms_baseline.profile import schema_text


def register(sub: Any) -> None:
    p = sub.add_parser(
        "schema",
        help="print the JSON Schema of the site profile (for editors and CI)",
        description=(
            "Print the site-profile JSON Schema (2020-12). In an editor with "
            "yaml-language-server, start a profile with "
            "'# yaml-language-server: $schema=<path to the schema>'."
        ),
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(schema_text())
    return 0
