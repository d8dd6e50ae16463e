"""Conformance: read-only checks of hosts against the profile, with pytest-testinfra.

One collector per platform runs once per host (one SSH command, as root through sudo) and
returns JSON facts; one pytest test per control and host (``test_ESMS_XXX_NN[host]``)
evaluates them with a pure rule against the host's role variables. See docs/check.md.
"""

from __future__ import annotations

from esms_baseline.conformance.model import CheckPlan, CheckTarget, Outcome
from esms_baseline.conformance.runner import check
from esms_baseline.results import CheckResult, ControlResult, Verdict

__all__ = ["CheckPlan", "CheckResult", "CheckTarget", "ControlResult", "Outcome", "Verdict",
           "check"]
