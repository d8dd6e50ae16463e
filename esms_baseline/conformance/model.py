"""What a conformance check runs on (``CheckPlan``) and what a rule returns (``Outcome``).

A ``CheckPlan`` is built by the plan layer (``esms_baseline.plan.build_check_plan``) from a
site profile and an inventory; it carries, per host, the same role variables as an apply
(see docs/architecture.md, "Role variable contract"), so that the check compares each host
with exactly what the roles were asked to configure.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Platforms a collector exists for. Others are reported as ``error`` (not implemented).
SUPPORTED_PLATFORMS = ("debian", "windows")



def facts_file_name(host: str) -> str:
    """The --facts-dir file of a host: one file name whatever the inventory calls it (Ansible
    accepts ``../../x``): ``%``, ``/``, ``\\`` and NUL are %-encoded."""
    for ch in ("%", "/", "\\", "\x00"):
        host = host.replace(ch, f"%{ord(ch):02X}")
    return f"{host}.json"


@dataclass(frozen=True)
class CheckTarget:
    """One host to check.

    ``testinfra_url`` is a testinfra host spec, e.g. ``ssh://lab-01`` (the plan's
    ``ssh_config`` is added when the URL has none) or ``local://`` (tests).
    ``vars`` are the role variables of this host; ``excepted`` maps a control id to the
    reason the profile gives for excepting it on this host.
    """

    name: str
    platform: str
    testinfra_url: str
    vars: Mapping[str, Any] = field(default_factory=dict)
    excepted: Mapping[str, str] = field(default_factory=dict)
    #: ssh options (shell words) put first on the host's ssh command line: the verified
    #: known_hosts (esms_baseline.hostkeys), set by the check after its host key pre-flight
    ssh_options: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "platform": self.platform,
            "testinfra_url": self.testinfra_url,
            "vars": dict(self.vars),
            "excepted": dict(self.excepted),
            "ssh_options": self.ssh_options,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> CheckTarget:
        return cls(
            name=str(raw["name"]),
            platform=str(raw["platform"]),
            testinfra_url=str(raw["testinfra_url"]),
            vars=dict(raw.get("vars") or {}),
            excepted={str(k): str(v) for k, v in (raw.get("excepted") or {}).items()},
            ssh_options=str(raw.get("ssh_options") or ""),
        )


@dataclass(frozen=True)
class CheckPlan:
    """Everything a check needs; built by the plan layer, serialisable to JSON.

    ``organisation`` holds the declared evidence of the organisational controls:
    ``{"ESMS-ORG-01": {"date": "2025-01-31" | None, "document": "...",
    "max_age_months": 12}}`` (``max_age_months`` absent means 12, ``None`` means no limit).
    """

    site_name: str
    hosts: tuple[CheckTarget, ...]
    organisation: Mapping[str, Any] = field(default_factory=dict)
    ssh_config: Path | None = None
    today: _dt.date = field(default_factory=_dt.date.today)
    baseline_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "site_name": self.site_name,
            "hosts": [h.to_dict() for h in self.hosts],
            "organisation": dict(self.organisation),
            "ssh_config": str(self.ssh_config) if self.ssh_config else None,
            "today": self.today.isoformat(),
            "baseline_version": self.baseline_version,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, default=str, indent=1)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> CheckPlan:
        return cls(
            site_name=str(raw["site_name"]),
            hosts=tuple(CheckTarget.from_dict(h) for h in raw.get("hosts") or ()),
            organisation=dict(raw.get("organisation") or {}),
            ssh_config=Path(raw["ssh_config"]) if raw.get("ssh_config") else None,
            today=_dt.date.fromisoformat(raw["today"]) if raw.get("today") else _dt.date.today(),
            baseline_version=str(raw.get("baseline_version") or ""),
        )


@dataclass(frozen=True)
class Outcome:
    """What a rule concluded from a host's facts.

    ``passed``: True (conforms), False (does not), None (not applicable on this host).
    ``warning``: conforms, but something must be planned (an end of support is near): the
    verdict is ``warning`` instead of ``pass``.
    ``found`` and ``expected`` are short, human-readable values (strings, numbers, lists,
    small dicts) shown side by side in reports; ``message`` says why, in a sentence.
    """

    passed: bool | None
    found: Any
    expected: Any
    message: str = ""
    warning: bool = False

    @classmethod
    def not_applicable(cls, message: str, found: Any = None) -> Outcome:
        return cls(passed=None, found=found, expected=None, message=message)
