"""Where the reference scanner's files are, and what its content (the datastream) holds.

``scripts/fetch-scanner.sh`` (run by ``scripts/setup.sh``) downloads the Debian packages
into the cache dir (``/var/cache/esms-baseline/scanner`` or ``$ESMS_SCANNER_CACHE``):
``debs/`` (openscap-scanner of Debian 12 and the libraries a lab host lacks, ssg-debian of
Debian 13) and ``scap/ssg-debian12-ds.xml`` (ComplianceAsCode's Debian 12 datastream,
extracted from ssg-debian).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from esms_baseline.errors import ScannerError

DEFAULT_CACHE_DIR = Path("/var/cache/esms-baseline/scanner")
CACHE_DIR_ENV = "ESMS_SCANNER_CACHE"
DATASTREAM_NAME = "ssg-debian12-ds.xml"
#: Where ssg-debian installs the datastream on a host (and where we put it in lab hosts).
HOST_DATASTREAM = "/usr/share/xml/scap/ssg/content/" + DATASTREAM_NAME

XCCDF_NS = "http://checklists.nist.gov/xccdf/1.2"
RULE_PREFIX = "xccdf_org.ssgproject.content_rule_"
VALUE_PREFIX = "xccdf_org.ssgproject.content_value_"
PROFILE_PREFIX = "xccdf_org.ssgproject.content_profile_"
#: The ANSSI-BP-028 level the tailoring extends. "intermediary" contains "minimal" and is
#: the level ComplianceAsCode documents for general-purpose servers and workstations.
BASE_PROFILE = PROFILE_PREFIX + "anssi_bp28_intermediary"


def cache_dir(path: Path | None = None) -> Path:
    """The scanner cache dir: argument, else $ESMS_SCANNER_CACHE, else the default."""
    if path is not None:
        return path
    env = os.environ.get(CACHE_DIR_ENV)
    return Path(env) if env else DEFAULT_CACHE_DIR


def datastream_path(cache: Path | None = None) -> Path:
    return cache_dir(cache) / "scap" / DATASTREAM_NAME


def deb_files(cache: Path | None = None) -> list[Path]:
    return sorted((cache_dir(cache) / "debs").glob("*.deb"))


@dataclass(frozen=True)
class Datastream:
    """The ids a datastream defines (short forms, without the ssgproject prefixes) and, per
    profile, the rules it selects."""

    path: Path
    rules: frozenset[str]
    values: frozenset[str]
    profiles: dict[str, frozenset[str]]


@cache
def _load(path: Path, mtime: float) -> Datastream:
    rules: set[str] = set()
    values: set[str] = set()
    profiles: dict[str, frozenset[str]] = {}
    x = "{" + XCCDF_NS + "}"
    try:
        for _event, el in ET.iterparse(path, events=("end",)):
            if el.tag == x + "Rule":
                rules.add(el.get("id", "").removeprefix(RULE_PREFIX))
                el.clear()
            elif el.tag == x + "Value":
                values.add(el.get("id", "").removeprefix(VALUE_PREFIX))
            elif el.tag == x + "Profile":
                selected = frozenset(
                    s.get("idref", "").removeprefix(RULE_PREFIX)
                    for s in el.findall(x + "select") if s.get("selected") == "true"
                )
                profiles[el.get("id", "").removeprefix(PROFILE_PREFIX)] = selected
    except (OSError, ET.ParseError) as e:
        raise ScannerError(f"{path}: cannot read the datastream: {e}") from e
    if not rules:
        raise ScannerError(f"{path}: no XCCDF 1.2 rule in this file: not a datastream")
    return Datastream(path, frozenset(rules), frozenset(values), profiles)


def load_datastream(path: Path | None = None) -> Datastream:
    """Parse the datastream (about 2 s for ComplianceAsCode's 10 MB file; cached)."""
    p = path or datastream_path()
    if not p.is_file():
        raise ScannerError(
            f"{p}: the scanner content is missing; run scripts/fetch-scanner.sh "
            f"(scripts/setup.sh does) or set ${CACHE_DIR_ENV}"
        )
    return _load(p.resolve(), p.stat().st_mtime)
