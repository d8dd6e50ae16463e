"""What is kept of a run of the reference scanner: the agreement with the recorded check it
was compared to, as the JSON payload of a history row (``History.record_scan``) that the
director's report reads back (``esms_baseline.report.scanner_section``).

The payload: ``scanner`` (OpenSCAP's version, read from the results' ``test-system``),
``content`` (the benchmark's version, read from the results), ``base_profile``,
``check_run_id`` and ``check_started`` (the check compared to), ``hosts``, ``counts``
(agree / differ / known) and ``rows`` (per host x rule: our verdict, the scanner's, the
claim of scanner_map.yml, agreement and note).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from esms_baseline.catalogue.scanner_map import load_scanner_map
from esms_baseline.scanner.agreement import AgreementRow
from esms_baseline.scanner.content import XCCDF_NS

#: Version of the payload's layout (a new key is not a new version; a renamed one is).
PAYLOAD_VERSION = 1


def scanner_versions(results_xml: str | bytes) -> tuple[str, str]:
    """(scanner, content) versions stated in an XCCDF results file, "" when absent: the
    TestResult's ``test-system`` (e.g. ``cpe:/a:redhat:openscap:1.3.7``) and the benchmark's
    ``version`` (e.g. ``0.1.76``)."""
    try:
        root = ET.fromstring(results_xml)
    except ET.ParseError:
        return "", ""
    x = "{" + XCCDF_NS + "}"
    tests = list(root.iter(x + "TestResult"))
    system = tests[-1].get("test-system", "") if tests else ""
    scanner = ("OpenSCAP " + system.rsplit(":", 1)[-1]) if "openscap" in system else system
    bench = root if root.tag == x + "Benchmark" else root.find(".//" + x + "Benchmark")
    version = bench.find(x + "version") if bench is not None else None
    content = (version.text or "").strip() if version is not None else ""
    return _short(scanner), _short(content)


def _short(text: str, limit: int = 100) -> str:
    """A version as the host stated it, for the history and the reports: one line (control
    characters and runs of spaces become one space), at most ``limit`` characters."""
    text = " ".join(re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", " ", text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def scan_payload(rows: Sequence[AgreementRow], *, check_run_id: int | None,
                 check_started: str, versions: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
    """The history payload of an agreement (``versions``: host -> (scanner, content))."""
    smap = load_scanner_map()
    counts = Counter(status_of(r) for r in rows)
    scanners = sorted({v[0] for v in versions.values() if v[0]})
    contents = sorted({v[1] for v in versions.values() if v[1]})
    return {
        "payload_version": PAYLOAD_VERSION,
        "scanner": ", ".join(scanners),
        "content_version": ", ".join(contents),
        "content": smap.content,
        "base_profile": smap.base_profile_id,
        "check_run_id": check_run_id,
        "check_started": check_started,
        "hosts": sorted(versions),
        "counts": {k: counts.get(k, 0) for k in ("agree", "differ", "known")},
        "rows": [{**r.to_dict(), "status": status_of(r)} for r in rows],
    }


def status_of(row: AgreementRow) -> str:
    """agree, differ (an unexpected difference) or known (explained in scanner_map.yml)."""
    if row.agrees:
        return "agree"
    return "differ" if row.expected_to_agree else "known"


def rows_of(payload: Mapping[str, Any]) -> list[AgreementRow]:
    """The agreement rows of a recorded payload (unknown keys ignored)."""
    out = []
    for r in payload.get("rows") or []:
        out.append(AgreementRow(
            host=str(r["host"]), control=str(r["control"]), rule=str(r["rule"]),
            ours=str(r["ours"]), scanner=str(r["scanner"]), claimed=str(r["claimed"]),
            agrees=bool(r["agrees"]), note=None if r.get("note") is None else str(r["note"])))
    return out
