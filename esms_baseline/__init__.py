"""esms-baseline: the "socle de base" security baseline for French medico-social
establishments, as code.

The public API is typed and layered: profile (load, validate) -> plan (profile to Ansible
vars and inventory) -> run (ansible-runner) -> conformance (check) -> report.
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

#: The public names, imported on first use (PEP 562): a process that needs only one part (the
#: conformance suite's pytest process, a fleet check's one run) does not pay for the others.
_LAZY = {
    "Catalogue": "catalogue", "Control": "catalogue", "load_catalogue": "catalogue",
    "CheckPlan": "conformance", "CheckTarget": "conformance", "check": "conformance",
    "CatalogueError": "errors", "EsmsError": "errors", "LabError": "errors",
    "PlanError": "errors", "Problem": "errors", "ProfileError": "errors", "RunError": "errors",
    "History": "history", "SiteProfile": "profile", "load_profile": "profile",
    "render": "report", "CheckResult": "results",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


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
