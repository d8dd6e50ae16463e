"""Read what OpenSCAP decided: the rule results of an XCCDF 1.2 results file
(``oscap xccdf eval --results FILE``)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from esms_baseline.errors import ScannerError
from esms_baseline.scanner.content import RULE_PREFIX, XCCDF_NS

#: The result values of XCCDF 1.2 (NISTIR 7275r4, 6.6.4.2).
RESULTS = ("pass", "fail", "error", "unknown", "notapplicable", "notchecked", "notselected",
           "informational", "fixed")


def parse_results(source: str | bytes | Path) -> dict[str, str]:
    """Short rule id -> result, for every rule-result of the (last) TestResult.

    ``source`` is the XML text or a path to it.
    """
    try:
        if isinstance(source, Path):
            root = ET.parse(source).getroot()
        else:
            root = ET.fromstring(source)
    except (OSError, ET.ParseError) as e:
        raise ScannerError(f"cannot read the OpenSCAP results: {e}") from e
    x = "{" + XCCDF_NS + "}"
    tests = list(root.iter(x + "TestResult"))
    if not tests:
        raise ScannerError("no XCCDF TestResult in the OpenSCAP results")
    out: dict[str, str] = {}
    for rr in tests[-1].iter(x + "rule-result"):
        result = rr.find(x + "result")
        value = (result.text or "").strip() if result is not None else ""
        if value not in RESULTS:
            raise ScannerError(f"unknown XCCDF result {value!r} for {rr.get('idref')}")
        out[rr.get("idref", "").removeprefix(RULE_PREFIX)] = value
    return out
