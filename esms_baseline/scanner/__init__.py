"""The reference scanner auditors use, OpenSCAP with ComplianceAsCode's ANSSI-BP-028
content for Debian 12, next to our own check: its content (``content``), the XCCDF
tailoring generated from a site profile (``tailoring``), its results (``results``), the
agreement with our check (``agreement``) and, for tests and the lab, installing and running
it on a lab host (``esms_baseline.scanner.lab``, not imported here: it needs the lab).
The control -> rule map lives in the catalogue (``catalogue/scanner_map.yml``)."""

from esms_baseline.scanner.agreement import AgreementRow, agreement_rows, disagreements
from esms_baseline.scanner.content import Datastream, datastream_path, load_datastream
from esms_baseline.scanner.results import parse_results
from esms_baseline.scanner.tailoring import export_tailoring, profile_id, tailor_host

__all__ = [
    "AgreementRow",
    "Datastream",
    "agreement_rows",
    "datastream_path",
    "disagreements",
    "export_tailoring",
    "load_datastream",
    "parse_results",
    "profile_id",
    "tailor_host",
]
