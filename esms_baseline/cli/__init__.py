"""The ``esms-baseline`` command: a thin shell over the library.

Each subcommand lives in its own module of this package, which exposes
``register(subparsers)``; the module adds its parser and sets ``func`` to a function
``(args) -> int`` that returns the exit status. Exit statuses: 0 success, 1 the check found
failures, 2 bad input or usage, 3 the run was incomplete (unreachable host, internal error).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module

from esms_baseline import __version__
from esms_baseline.errors import EsmsError, ProfileError

EXIT_OK = 0
EXIT_FAILURES = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3

# Subcommand modules, in the order `--help` lists them.
_COMMANDS = (
    "validate", "controls", "schema", "plan", "apply", "check", "drift", "report", "schedule",
    "lab", "trust", "windows", "export", "scan",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="esms-baseline",
        description=(
            "Security baseline (socle de base 2017) for medico-social establishments: "
            "validate a site profile, apply it with Ansible, check conformance."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMANDS:
        try:
            module = import_module(f"esms_baseline.cli.{name}_cmd")
        except ModuleNotFoundError as exc:  # a command not built yet
            if exc.name != f"esms_baseline.cli.{name}_cmd":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        status: int = args.func(args)
    except ProfileError as exc:
        for problem in exc.errors:
            print(f"error: {problem}", file=sys.stderr)
        print(f"{len(exc.errors)} error(s); nothing was applied.", file=sys.stderr)
        return EXIT_USAGE
    except EsmsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INCOMPLETE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INCOMPLETE
    except Exception:  # noqa: BLE001 - an internal error: never exit 1 ("known failures")
        import traceback

        traceback.print_exc()
        print("internal error (a bug of esms-baseline): the run is incomplete", file=sys.stderr)
        return EXIT_INCOMPLETE
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
