"""Typed results shared by ``apply`` and ``check``: per host and control.

Exit statuses of a check (documented in the README): 0 every control passes (or is
excepted), 1 at least one failure, 3 the run is incomplete (an unreachable host or an error).
2 is reserved for bad input (profile, usage), raised before any run.
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

#: The pseudo-host under which site-level (organisational) controls are reported.
SITE_HOST = "(site)"
#: A failure whose message starts with this needs a person (apply does not repair it: an
#: intruder UID 0 account, an undeclared interactive account...); reports show it as
#: "action manuelle requise".
MANUAL_ACTION = "manual action required"


class Verdict(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    EXCEPTED = "excepted"
    ERROR = "error"
    UNREACHABLE = "unreachable"
    NOT_APPLICABLE = "not_applicable"
    #: conforms today, but an end date is near (e.g. an OS release's end of support,
    #: ESMS-UPD-04): shown in reports, does not change the exit status
    WARNING = "warning"


@dataclass(frozen=True)
class ControlResult:
    """The verdict of one control on one host, with what was found and what was expected."""

    host: str
    control: str
    verdict: Verdict
    found: Any = None
    expected: Any = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["verdict"] = self.verdict.value
        return d


@dataclass(frozen=True)
class CheckResult:
    site: str
    started: _dt.datetime
    finished: _dt.datetime
    results: tuple[ControlResult, ...]
    baseline_version: str
    hosts: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> Counter[str]:
        return Counter(r.verdict.value for r in self.results)

    def failures(self) -> tuple[ControlResult, ...]:
        return tuple(r for r in self.results if r.verdict is Verdict.FAIL)

    @property
    def exit_code(self) -> int:
        verdicts = {r.verdict for r in self.results}
        if Verdict.UNREACHABLE in verdicts or Verdict.ERROR in verdicts:
            return 3
        if Verdict.FAIL in verdicts:
            return 1
        return 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat(),
            "baseline_version": self.baseline_version,
            "hosts": list(self.hosts),
            "counts": dict(self.counts()),
            "exit_code": self.exit_code,
            "results": [r.to_dict() for r in self.results],
        }


class TaskOutcome(str, Enum):
    OK = "ok"
    CHANGED = "changed"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    EXCEPTED = "excepted"
    SKIPPED = "skipped"


#: Exit status of an apply that enforced everything it could but left manual actions.
EXIT_MANUAL_ACTION = 5


@dataclass(frozen=True)
class ManualAction:
    """A condition an apply found and left to a person (it did not stop the other repairs)."""

    control: str
    reason: str


@dataclass(frozen=True)
class HostApply:
    """What an apply did on one host, per control and per area."""

    host: str
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: bool = False
    #: control id -> worst outcome of its tasks (failed > changed > ok > skipped)
    controls: dict[str, TaskOutcome] = field(default_factory=dict)
    #: messages of failed tasks (never secrets: tasks touching secrets are no_log)
    errors: tuple[str, ...] = ()
    #: conditions left to a person ("Manual action" tasks), in the order they were found
    manual_actions: tuple[ManualAction, ...] = ()


@dataclass(frozen=True)
class ApplyResult:
    site: str
    started: _dt.datetime
    finished: _dt.datetime
    status: str
    hosts: tuple[HostApply, ...]
    artifacts_dir: str
    check_mode: bool = False
    excepted: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return sum(h.changed for h in self.hosts)

    @property
    def manual_actions(self) -> tuple[tuple[str, ManualAction], ...]:
        """(host, action) of every manual action of the run."""
        return tuple((h.host, a) for h in self.hosts for a in h.manual_actions)

    @property
    def exit_code(self) -> int:
        """3 unreachable host, 1 a task failed, 5 manual actions required (everything else
        enforced), 0 success."""
        if any(h.unreachable for h in self.hosts):
            return 3
        if any(h.failed for h in self.hosts) or self.status not in ("successful",):
            return 1
        if self.manual_actions:
            return EXIT_MANUAL_ACTION
        return 0
