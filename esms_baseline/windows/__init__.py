"""Windows support: the desired state of a Windows host computed from the role variables
(``desired``), the parsers of what a Windows host reports (``parse``) and the WinRM
collection of conformance facts (``collect``).

Nothing here has been run against a real Windows host yet: see docs/windows.md.
"""

from __future__ import annotations

from esms_baseline.windows.desired import (
    DesiredStateError,
    FirewallRule,
    RegistryValue,
    SecpolValue,
    WindowsDesiredState,
    desired_state,
    render_desired_state,
    to_ansible,
)

__all__ = [
    "DesiredStateError",
    "FirewallRule",
    "RegistryValue",
    "SecpolValue",
    "WindowsDesiredState",
    "desired_state",
    "render_desired_state",
    "to_ansible",
]
