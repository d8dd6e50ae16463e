"""Our check against the reference scanner, rule by rule: for each host and each rule of
``catalogue/scanner_map.yml``, the control's verdict, the scanner's result and whether the
two agree."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from esms_baseline.catalogue.scanner_map import ScannerMap, load_scanner_map
from esms_baseline.results import CheckResult

#: Our verdicts and the scanner's results that say the same thing.
_SAME = {
    "pass": {"pass"},
    "fail": {"fail"},
    "excepted": {"notselected", "notapplicable"},
    "not_applicable": {"notselected", "notapplicable"},
}


@dataclass(frozen=True)
class AgreementRow:
    host: str
    control: str
    rule: str
    #: our verdict (pass, fail, excepted, not_applicable, error, unreachable; "absent" when
    #: the check did not judge the control on this host)
    ours: str
    #: the scanner's XCCDF result (pass, fail, notapplicable, notselected, error...;
    #: "absent" when the scan has no result for the rule)
    scanner: str
    #: what scanner_map.yml claims: full, partial or none
    claimed: str
    agrees: bool
    note: str | None

    @property
    def expected_to_agree(self) -> bool:
        return self.claimed != "none"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def agreement_rows(check: CheckResult, scans: Mapping[str, Mapping[str, str]],
                   scanner_map: ScannerMap | None = None) -> list[AgreementRow]:
    """One row per host scanned and mapped rule. ``scans`` is host -> (short rule id ->
    XCCDF result), e.g. ``esms_baseline.scanner.results.parse_results`` of each host."""
    smap = scanner_map or load_scanner_map()
    verdicts = {(r.host, r.control): r.verdict.value for r in check.results}
    rows: list[AgreementRow] = []
    for host in sorted(scans):
        results = scans[host]
        for m in smap.rules:
            ours = verdicts.get((host, m.control), "absent")
            theirs = results.get(m.rule, "absent")
            rows.append(AgreementRow(host, m.control, m.rule, ours, theirs, m.agreement,
                                     theirs in _SAME.get(ours, set()), m.note))
    return rows


def disagreements(rows: list[AgreementRow]) -> list[AgreementRow]:
    """Rows the map claims agree (full or partial) whose verdicts differ."""
    return [r for r in rows if r.expected_to_agree and not r.agrees]
