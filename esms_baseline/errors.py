"""The exception hierarchy of esms-baseline.

Every error the library raises on purpose derives from :class:`EsmsError`, so that a caller
(the CLI, another tool) can catch the library's failures without catching its own bugs.
"""

from __future__ import annotations

from dataclasses import dataclass


class EsmsError(Exception):
    """Base class of every error raised by esms-baseline."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file: where it is, which field, and what is expected.

    ``line`` and ``column`` are 1-based; 0 means "not known" (e.g. the file is missing).
    ``path`` is the field path in the document, e.g. ``accounts.users[2].login``.
    """

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}:{self.column}" if self.column else f":{self.line}"
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"


class ProfileError(EsmsError):
    """A site profile could not be loaded or is invalid. ``errors`` lists every problem."""

    def __init__(self, errors: list[Problem]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors) or "invalid profile")


class CatalogueError(EsmsError):
    """The control catalogue shipped with the package is inconsistent."""


class PlanError(EsmsError):
    """A profile could not be turned into an Ansible plan (e.g. an inventory is missing)."""


class RunError(EsmsError):
    """Ansible could not be run (not a failed task: a run that could not take place)."""


class LabError(EsmsError):
    """The lab hosts could not be brought up, reached or torn down."""


class ScannerError(EsmsError):
    """The reference scanner (OpenSCAP and its content) is missing, or its output is unusable."""
