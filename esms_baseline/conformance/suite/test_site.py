"""Site-level conformance tests: organisational evidence (socles 6-8), reported under the
pseudo-host SITE_HOST. Present and fresh passes; missing is a failure ("à renseigner").
"""

from __future__ import annotations

from esms_baseline.conformance.plugin import VerifySite


def test_ESMS_ORG_01(verify_site: VerifySite) -> None:
    """ESMS-ORG-01: Degraded-mode procedures."""
    verify_site("ESMS-ORG-01")


def test_ESMS_ORG_02(verify_site: VerifySite) -> None:
    """ESMS-ORG-02: Staff security awareness."""
    verify_site("ESMS-ORG-02")


def test_ESMS_ORG_03(verify_site: VerifySite) -> None:
    """ESMS-ORG-03: IT usage charter adopted."""
    verify_site("ESMS-ORG-03")
