"""The site profile: load a YAML profile, validate it (schema, then semantic rules) and
build the typed :class:`SiteProfile`.

``load_profile(path)`` raises :class:`~esms_baseline.errors.ProfileError` whose ``errors``
lists every problem at once, each with file, line, column, field path and what is expected.
Schema problems are reported first; the semantic rules run once the schema passes (they
rely on the types it guarantees).
"""

from __future__ import annotations

import datetime
from pathlib import Path

from esms_baseline.errors import Problem, ProfileError
from esms_baseline.profile import exposure as _exposure  # noqa: F401 - registers its rules
from esms_baseline.profile import providers as _providers  # noqa: F401 - registers its checks
from esms_baseline.profile.inventory import read_inventory
from esms_baseline.profile.model import (
    Accounts,
    Antivirus,
    Backup,
    Banner,
    ControlException,
    Evidence,
    Firewall,
    GroupSpec,
    HostSettings,
    HostSpec,
    InventorySpec,
    Organisation,
    PasswordPolicy,
    SecretRef,
    Service,
    SessionLock,
    Site,
    SiteProfile,
    Updates,
    User,
    build_profile,
)
from esms_baseline.profile.schema import SCHEMA_ID, load_schema, schema_text, validate_schema
from esms_baseline.profile.semantic import Ctx, check
from esms_baseline.profile.text import check_text
from esms_baseline.profile.yamlpos import read_yaml


def validate_file(path: str | Path, *, today: datetime.date | None = None,
                  ) -> tuple[SiteProfile | None, list[Problem]]:
    """Every problem of the profile at ``path``, and the profile when there is none."""
    p = Path(path)
    doc = read_yaml(p, display=str(path))
    if doc.data is None and doc.problems:
        return None, doc.problems
    problems = list(doc.problems)
    if not isinstance(doc.data, dict):
        problems.append(doc.problem((), "a profile is a mapping of sections (schema_version:, "
                                    "site:, inventory:, accounts:, firewall:, ...), not a "
                                    "list or a single value", key=False))
        return None, problems
    text_problems = check_text(doc)
    # a text refused for its characters is not also reported as not matching its pattern
    refused = {t.path for t in text_problems}
    problems += [p for p in validate_schema(doc) if p.path not in refused] + text_problems
    if problems:
        return None, _sorted(problems)
    base_dir = p.resolve().parent
    inv_path = doc.data["inventory"].get("path")
    external = read_inventory((base_dir / inv_path).resolve()) if inv_path else None
    ctx = Ctx(data=doc.data, doc=doc, today=today or datetime.date.today(),
              base_dir=base_dir, external=external)
    problems = check(ctx)
    if problems:
        return None, _sorted(problems)
    hosts = external.resolve() if external and "hosts" not in doc.data["inventory"] else None
    return build_profile(doc.data, p.resolve(), hosts), []


def load_profile(path: str | Path, *, today: datetime.date | None = None) -> SiteProfile:
    """Load and validate the site profile at ``path``; ``today`` (for exception expiry)
    defaults to the current date. Raises ProfileError listing every problem."""
    profile, problems = validate_file(path, today=today)
    if profile is None:
        raise ProfileError(problems)
    return profile


def _sorted(problems: list[Problem]) -> list[Problem]:
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (p.line, p.column, p.path))


__all__ = [
    "SCHEMA_ID",
    "Accounts",
    "Antivirus",
    "Backup",
    "Banner",
    "ControlException",
    "Evidence",
    "Firewall",
    "GroupSpec",
    "HostSettings",
    "HostSpec",
    "InventorySpec",
    "Organisation",
    "PasswordPolicy",
    "SecretRef",
    "Service",
    "SessionLock",
    "Site",
    "SiteProfile",
    "Updates",
    "User",
    "load_profile",
    "load_schema",
    "schema_text",
    "validate_file",
]
