"""esms-baseline: the "socle de base" security baseline for French medico-social
establishments, as code.

The public API is typed and layered: profile (load, validate) -> plan (profile to Ansible
vars and inventory) -> run (ansible-runner) -> conformance (check) -> report.
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

from esms_baseline.catalogue import Catalogue, Control, load_catalogue
from esms_baseline.conformance import CheckPlan, CheckTarget, check
from esms_baseline.errors import (
    CatalogueError,
    EsmsError,
    LabError,
    PlanError,
    Problem,
    ProfileError,
    RunError,
)
from esms_baseline.history import History
from esms_baseline.profile import SiteProfile, load_profile
from esms_baseline.report import render
from esms_baseline.results import CheckResult

__all__ = [
    "Catalogue",
    "CatalogueError",
    "CheckPlan",
    "CheckResult",
    "CheckTarget",
    "Control",
    "EsmsError",
    "History",
    "LabError",
    "PlanError",
    "Problem",
    "ProfileError",
    "RunError",
    "SiteProfile",
    "__version__",
    "check",
    "load_catalogue",
    "load_profile",
    "render",
]
