"""End-of-support table (``eol.yml``) and the decision of ESMS-UPD-04.

``load_eol()`` reads the table; ``debian_support`` / ``windows_support`` say, for a release
read on a host, until when it receives security updates and which phase it is in;
``verdict_of`` turns that into pass / warning / fail for a day and a warning delay.
Pure functions: the conformance rules and the report both use them.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

from esms_baseline.errors import CatalogueError

_HERE = Path(__file__).resolve().parent

EditionFamily = Literal["home_pro", "enterprise_education", "ltsc", "iot_ltsc", "server"]
_FAMILIES = ("home_pro", "enterprise_education", "ltsc", "iot_ltsc", "server")
Phase = Literal["regular", "lts", "esu", "ended", "unknown"]

#: EditionID (HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion) -> family; the values are
#: those Microsoft documents for Windows editions (docs/lifecycle.md).
_LTSC_EDITIONS = frozenset({"enterprises", "enterprisesn"})
#: IoT Enterprise LTSC has its own, longer lifecycle from LTSC 2021 on (10 years: 2032-01-13
#: for LTSC 2021, 2034-10-10 for Windows 11 LTSC 2024); older IoT LTSB/LTSC releases report
#: EditionID EnterpriseS (binary equivalents) and end with Enterprise LTSB/LTSC.
_IOT_LTSC_EDITIONS = frozenset({"iotenterprises", "iotenterprisesk"})
#: Windows 10/11 Enterprise multi-session reports ProductType 3 (a server) with this
#: EditionID; it follows the Enterprise lifecycle of its build.
_MULTI_SESSION_EDITIONS = frozenset({"serverrdsh"})
_ENTERPRISE_EDITIONS = frozenset({"enterprise", "enterprisen", "education", "educationn",
                                  "iotenterprise", "iotenterprisek", "enterpriseg",
                                  "enterprisegn"})


@dataclass(frozen=True)
class DebianRelease:
    version: str
    codename: str
    released: _dt.date
    regular_end: _dt.date
    lts_end: _dt.date
    source: str
    checked: _dt.date


@dataclass(frozen=True)
class WindowsRelease:
    product: str
    build: int
    editions: EditionFamily
    end: _dt.date
    source: str
    checked: _dt.date
    version: str = ""
    #: program (consumer, commercial) -> last day an enrolment can cover
    esu: dict[str, _dt.date] = field(default_factory=dict)
    esu_source: str | None = None

    @property
    def name(self) -> str:
        return f"{self.product} {self.version}".strip()


@dataclass(frozen=True)
class EolTable:
    debian: tuple[DebianRelease, ...]
    windows: tuple[WindowsRelease, ...]

    @property
    def checks(self) -> list[_dt.date]:
        return [r.checked for r in self.debian] + [r.checked for r in self.windows]

    @property
    def newest_check(self) -> _dt.date:
        return max(self.checks)

    @property
    def oldest_check(self) -> _dt.date:
        return min(self.checks)


@dataclass(frozen=True)
class Support:
    """Until when a release read on a host receives security updates."""

    release: str
    #: last day of security updates counted for this host (None: release unknown)
    end: _dt.date | None
    phase: Phase
    source: str | None = None
    #: the end of the regular phase, when a later phase (LTS, ESU) is counted
    regular_end: _dt.date | None = None
    #: what to plan: upgrade, replacement, esu
    advice: str = "upgrade"


def _date(value: Any, where: str) -> _dt.date:
    if isinstance(value, _dt.date):
        return value
    try:
        return _dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise CatalogueError(f"eol.yml: {where}: not a date: {value!r}") from exc


@cache
def load_eol(path: Path | None = None) -> EolTable:
    """The end-of-support table shipped with the package (or ``path``)."""
    with open(path or _HERE / "eol.yml", encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    debian = []
    for i, d in enumerate(raw.get("debian") or ()):
        where = f"debian[{i}]"
        if not d.get("source"):
            raise CatalogueError(f"eol.yml: {where}: every date needs its public source")
        debian.append(DebianRelease(
            version=str(d["version"]), codename=str(d["codename"]),
            released=_date(d["released"], where), regular_end=_date(d["regular_end"], where),
            lts_end=_date(d["lts_end"], where), source=str(d["source"]),
            checked=_date(d["checked"], where)))
    windows = []
    for key in ("windows_client", "windows_server"):
        for i, w in enumerate(raw.get(key) or ()):
            where = f"{key}[{i}]"
            if not w.get("source"):
                raise CatalogueError(f"eol.yml: {where}: every date needs its public source")
            editions = w.get("editions", "server" if key == "windows_server" else None)
            if editions not in _FAMILIES:
                raise CatalogueError(f"eol.yml: {where}: unknown editions {editions!r}")
            windows.append(WindowsRelease(
                product=str(w["product"]), version=str(w.get("version") or ""),
                build=int(w["build"]), editions=editions, end=_date(w["end"], where),
                source=str(w["source"]), checked=_date(w["checked"], where),
                esu={str(k): _date(v, where) for k, v in (w.get("esu") or {}).items()},
                esu_source=w.get("esu_source")))
    return EolTable(debian=tuple(debian), windows=tuple(windows))


def debian_major(version_id: str | None, debian_version: str | None) -> str | None:
    """The Debian major release from os-release VERSION_ID ("12") or /etc/debian_version
    ("12.7"; "trixie/sid" on testing gives None)."""
    for text in (version_id, debian_version):
        m = re.match(r"^\s*(\d+)(?:\.\d+)*\s*$", text or "")
        if m:
            return m.group(1)
    return None


def debian_support(major: str | None, *, count_lts: bool = True,
                   table: EolTable | None = None) -> Support:
    table = table or load_eol()
    rel = next((r for r in table.debian if r.version == major), None)
    if rel is None:
        return Support(release=f"Debian {major}" if major else "Debian (unknown release)",
                       end=None, phase="unknown")
    name = f"Debian {rel.version} ({rel.codename})"
    end = rel.lts_end if count_lts else rel.regular_end
    return Support(release=name, end=end, phase="lts" if count_lts else "regular",
                   source=rel.source, regular_end=rel.regular_end, advice="upgrade")


#: Words of a Win32_OperatingSystem Caption (English and French) -> family, when the
#: EditionID was not collected (an older collector).
_CAPTION_WORDS: tuple[tuple[str, EditionFamily], ...] = (
    ("ltsc", "ltsc"), ("ltsb", "ltsc"), ("enterprise", "enterprise_education"),
    ("entreprise", "enterprise_education"), ("education", "enterprise_education"),
    ("éducation", "enterprise_education"), ("professionnel", "home_pro"), ("pro", "home_pro"),
    ("home", "home_pro"), ("famille", "home_pro"),
)


def edition_family(edition_id: str | None, product_type: int | None,
                   caption: str | None = None) -> EditionFamily | None:
    """Edition family of a Windows host: ``product_type`` 2/3 (Win32_OperatingSystem) is a
    server (except Enterprise multi-session, EditionID ServerRdsh); otherwise from the
    EditionID, else from words of the caption."""
    e = (edition_id or "").strip().lower()
    words = re.findall(r"[\wé]+", (caption or "").lower())
    if e in _MULTI_SESSION_EDITIONS or (not e and "multi" in words and "session" in words):
        return "enterprise_education"
    if product_type in (2, 3):
        return "server"
    if not e:
        if "iot" in words and ("ltsc" in words or "ltsb" in words):
            return "iot_ltsc"
        return next((fam for word, fam in _CAPTION_WORDS if word in words), None)
    if e in _IOT_LTSC_EDITIONS:
        return "iot_ltsc"
    if e in _LTSC_EDITIONS:
        return "ltsc"
    if e in _ENTERPRISE_EDITIONS:
        return "enterprise_education"
    if e.startswith(("core", "professional", "home", "pro")):
        return "home_pro"
    if e.startswith("server"):
        return "server"
    return None


def windows_support(build: int | None, family: EditionFamily | None, *,
                    esu_program: str | None = None, esu_until: _dt.date | None = None,
                    table: EolTable | None = None) -> Support:
    """Support of a Windows host from its build number and edition family; a declared ESU
    enrolment (program and the last day it is paid for) extends it, within the program's
    limit in the table."""
    table = table or load_eol()
    if build is None or family is None:
        return Support(release=f"Windows build {build} ({family or 'unknown edition'})",
                       end=None, phase="unknown")
    rel = next((r for r in table.windows if r.build == build and r.editions == family), None)
    if rel is None:
        return Support(release=f"Windows build {build} ({family})", end=None, phase="unknown")
    advice = "replacement" if rel.esu or "Windows 10" in rel.product else "upgrade"
    if esu_program and esu_until and esu_program in rel.esu:
        end = min(esu_until, rel.esu[esu_program])
        if end > rel.end:
            return Support(release=rel.name, end=end, phase="esu",
                           source=rel.esu_source or rel.source, regular_end=rel.end,
                           advice=advice)
    return Support(release=rel.name, end=rel.end, phase="regular", source=rel.source,
                   advice="esu" if rel.esu else advice)


Verdict = Literal["pass", "warning", "fail", "unknown"]


def verdict_of(support: Support, today: _dt.date, warn_days: int) -> tuple[Verdict, int | None]:
    """pass, warning (the end is within ``warn_days``), fail (past the end) or unknown;
    with the days left (negative: days since the end)."""
    if support.end is None:
        return "unknown", None
    left = (support.end - today).days
    if left < 0:
        return "fail", left
    if left <= warn_days:
        return "warning", left
    return "pass", left
