"""The catalogue's controls against the reference scanner's rules (``scanner_map.yml``):
which ComplianceAsCode rules judge what a control enforces, what they read, and whether
their verdicts agree with the control's check (``full``, ``partial`` or ``none``, with a
note saying why when not full). Checked against the catalogue when loaded."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from esms_baseline.catalogue import load_catalogue
from esms_baseline.errors import CatalogueError

_HERE = Path(__file__).resolve().parent
#: Prefix of ComplianceAsCode's XCCDF ids; the map holds the short ids after it.
RULE_PREFIX = "xccdf_org.ssgproject.content_rule_"
PROFILE_PREFIX = "xccdf_org.ssgproject.content_profile_"
AGREEMENTS = ("full", "partial", "none")
_SHORT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

Agreement = Literal["full", "partial", "none"]


@dataclass(frozen=True)
class ScannerRule:
    """One rule of the reference scanner mapped to one control."""

    control: str
    rule: str
    agreement: Agreement
    reads: str
    note: str | None = None

    @property
    def xccdf_id(self) -> str:
        return RULE_PREFIX + self.rule

    @property
    def must_agree(self) -> bool:
        """pass/pass after an apply is claimed (full or partial agreement)."""
        return self.agreement != "none"

    def to_dict(self) -> dict[str, Any]:
        return {"control": self.control, "rule": self.rule, "xccdf_id": self.xccdf_id,
                "agreement": self.agreement, "reads": self.reads, "note": self.note}


@dataclass(frozen=True)
class ScannerMap:
    content: str
    base_profile: str
    rules: tuple[ScannerRule, ...]
    unmapped: dict[str, str]

    @property
    def base_profile_id(self) -> str:
        return PROFILE_PREFIX + self.base_profile

    def for_control(self, control_id: str) -> tuple[ScannerRule, ...]:
        return tuple(r for r in self.rules if r.control == control_id)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(r.rule for r in self.rules)


def _rule(control: str, raw: Any, where: str) -> ScannerRule:
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: expected a mapping with rule, agreement, reads")
    rule = str(raw.get("rule", ""))
    if not _SHORT_ID.match(rule):
        raise CatalogueError(f"{where}: rule {rule!r} is not a short ComplianceAsCode rule id")
    agreement = raw.get("agreement")
    if agreement not in AGREEMENTS:
        raise CatalogueError(f"{where}: agreement must be one of {', '.join(AGREEMENTS)}")
    reads = str(raw.get("reads") or "").strip()
    if not reads:
        raise CatalogueError(f"{where}: say what the rule reads (reads)")
    note = str(raw["note"]).strip() if raw.get("note") else None
    if agreement != "full" and not note:
        raise CatalogueError(f"{where}: a {agreement} agreement needs a note saying why")
    unknown = set(raw) - {"rule", "agreement", "reads", "note"}
    if unknown:
        raise CatalogueError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    return ScannerRule(control, rule, cast(Agreement, agreement), reads, note)


def parse_scanner_map(raw: Any, source: str = "scanner_map.yml") -> ScannerMap:
    """Build and check a map from its parsed YAML; every control id must be in the
    catalogue, and appear either mapped or unmapped, not both."""
    if not isinstance(raw, dict) or raw.get("schema_version") != 1:
        raise CatalogueError(f"{source}: expected schema_version 1")
    known = set(load_catalogue().ids)
    rules: list[ScannerRule] = []
    seen: set[tuple[str, str]] = set()
    controls = raw.get("controls") or {}
    for cid, entries in controls.items():
        if cid not in known:
            raise CatalogueError(f"{source}: controls.{cid}: no such control in the catalogue")
        if not isinstance(entries, list) or not entries:
            raise CatalogueError(f"{source}: controls.{cid}: expected a list of rules")
        for i, e in enumerate(entries):
            r = _rule(cid, e, f"{source}: controls.{cid}[{i}]")
            if (cid, r.rule) in seen:
                raise CatalogueError(f"{source}: controls.{cid}: {r.rule} mapped twice")
            seen.add((cid, r.rule))
            rules.append(r)
    unmapped = {str(k): str(v) for k, v in (raw.get("unmapped") or {}).items()}
    for cid in unmapped:
        if cid not in known:
            raise CatalogueError(f"{source}: unmapped.{cid}: no such control in the catalogue")
        if cid in controls:
            raise CatalogueError(f"{source}: {cid} is both mapped and unmapped")
    base = str(raw.get("base_profile") or "")
    if not _SHORT_ID.match(base):
        raise CatalogueError(f"{source}: base_profile {base!r} is not a short profile id")
    return ScannerMap(str(raw.get("content") or ""), base, tuple(rules), unmapped)


@cache
def load_scanner_map() -> ScannerMap:
    """The map shipped with the package (``catalogue/scanner_map.yml``)."""
    with open(_HERE / "scanner_map.yml", encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    return parse_scanner_map(raw)
