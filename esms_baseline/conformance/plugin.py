"""The pytest plugin of the conformance suite (``-p esms_baseline.conformance.plugin``).

- reads the run file (``--esms-run`` or $ESMS_CHECK_RUN): the CheckPlan as JSON, the
  selected controls and the number of forks;
- parametrizes each ``test_ESMS_*`` of a platform module over that platform's hosts (test id
  = host name) and the site tests over nothing (they run once, for the site);
- collects the facts of every host once, in parallel (``forks`` threads), before the first
  test evaluates them (session fixture ``facts_cache``);
- records each test's verdict as a ControlResult and writes them all as JSON
  (``--esms-results`` or $ESMS_CHECK_RESULTS) at the end of the session.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import threading
import time
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from esms_baseline.conformance import rules as _rules
from esms_baseline.conformance.collectors import (
    Collected,
    CollectionError,
    HostUnreachable,
    collect,
    host_spec,
    warm_up,
)
from esms_baseline.conformance.model import CheckPlan, CheckTarget, Outcome, facts_file_name
from esms_baseline.conformance.rules.organisation import evidence
from esms_baseline.results import SITE_HOST, ControlResult, Verdict

RUN_ENV = "ESMS_CHECK_RUN"
RESULTS_ENV = "ESMS_CHECK_RESULTS"
EXCEPTED_PREFIX = "excepted: "
NA_PREFIX = "not applicable: "

_RUN = pytest.StashKey["RunConfig"]()
_OUTCOME = pytest.StashKey[Outcome]()
_RESULTS = pytest.StashKey[list[ControlResult]]()


class RunConfig:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.plan = CheckPlan.from_dict(raw["plan"])
        self.controls: set[str] | None = set(raw["controls"]) if raw.get("controls") else None
        self.forks = max(1, int(raw.get("forks") or 20))
        self.facts_dir = Path(raw["facts_dir"]) if raw.get("facts_dir") else None
        #: facts collected elsewhere (check --worker): read, no host is connected to
        self.facts_file = Path(raw["facts_file"]) if raw.get("facts_file") else None
        #: a fleet run (esms_baseline.fleet_check): the plan holds the hosts of every site,
        #: named ``<index>|<host>``; each site's tests run once per site, with its evidence
        self.sites: list[dict[str, Any]] = list(raw.get("sites") or [])
        #: inventories the fleet check already read (path -> ``ansible-inventory --list``
        #: output), given to testinfra so that it does not read them again
        self.inventories: dict[str, str] = dict(raw.get("inventories") or {})

    def targets(self, platform: str) -> list[CheckTarget]:
        return [h for h in self.plan.hosts if h.platform == platform]


def control_of(item: pytest.Item) -> str | None:
    name = getattr(item, "originalname", item.name)
    if not name.startswith("test_ESMS_"):
        return None
    return name[len("test_"):].replace("_", "-")


# ---------------------------------------------------------------------------- hooks


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("esms-baseline")
    group.addoption("--esms-run", help=f"run file (plan, controls, forks); or ${RUN_ENV}")
    group.addoption("--esms-results", help=f"where to write the results; or ${RESULTS_ENV}")


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("--esms-run") or os.environ.get(RUN_ENV)
    if not path:
        raise pytest.UsageError(f"esms-baseline conformance needs --esms-run or ${RUN_ENV}")
    with open(path, encoding="utf-8") as f:
        config.stash[_RUN] = RunConfig(json.load(f))
    config.stash[_RESULTS] = []


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" in metafunc.fixturenames:
        platform = getattr(metafunc.module, "PLATFORM", None)
        targets = metafunc.config.stash[_RUN].targets(str(platform))
        metafunc.parametrize("target", targets, ids=[t.name for t in targets])
    sites = metafunc.config.stash[_RUN].sites
    if sites and "esms_site" in metafunc.fixturenames:
        metafunc.parametrize("esms_site", sites, ids=[str(s["index"]) for s in sites])


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    selected = config.stash[_RUN].controls
    if selected is None:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        (keep if control_of(item) in selected else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    control = control_of(item)
    if control is None or report.when == "teardown":
        return report
    if report.when == "setup" and report.passed:
        return report
    params = getattr(item, "callspec", None)
    target = params.params.get("target") if params else None
    host = target.name if isinstance(target, CheckTarget) else SITE_HOST
    site = params.params.get("esms_site") if params else None
    if isinstance(site, dict):  # a fleet run: this site's row
        host = f"{site['index']}|{SITE_HOST}"
    outcome = item.stash.get(_OUTCOME, None)
    found = outcome.found if outcome else None
    expected = outcome.expected if outcome else None
    if report.passed:
        verdict = Verdict.WARNING if outcome is not None and outcome.warning else Verdict.PASS
        result = ControlResult(host, control, verdict, found, expected,
                               outcome.message if outcome else "")
    elif report.skipped:
        reason = _skip_reason(report)
        if reason.startswith(EXCEPTED_PREFIX):
            verdict, reason = Verdict.EXCEPTED, reason[len(EXCEPTED_PREFIX):]
        elif reason.startswith(NA_PREFIX):
            verdict, reason = Verdict.NOT_APPLICABLE, reason[len(NA_PREFIX):]
        else:
            verdict = Verdict.ERROR
        result = ControlResult(host, control, verdict, found, expected, reason)
    else:
        exc = call.excinfo.value if call.excinfo else None
        if isinstance(exc, HostUnreachable):
            result = ControlResult(host, control, Verdict.UNREACHABLE, message=str(exc))
        elif isinstance(exc, AssertionError) and outcome is not None and outcome.passed is False:
            result = ControlResult(host, control, Verdict.FAIL, found, expected, outcome.message)
        else:
            msg = f"{type(exc).__name__}: {exc}" if exc else str(report.longrepr)[-500:]
            result = ControlResult(host, control, Verdict.ERROR, found, expected, msg)
    item.config.stash[_RESULTS].append(result)
    return report


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        text = str(longrepr[2])
        return text.removeprefix("Skipped: ")
    return str(longrepr)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if _RESULTS not in config.stash:
        return
    path = config.getoption("--esms-results") or os.environ.get(RESULTS_ENV)
    if not path:
        return
    cache: FactsCache | None = getattr(config, "_esms_facts_cache", None)
    doc = {
        "exitstatus": int(exitstatus),
        "results": [r.to_dict() for r in config.stash[_RESULTS]],
        "collect": cache.summary() if cache else {},
    }
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, default=str), encoding="utf-8")
    tmp.replace(path)


# ---------------------------------------------------------------------------- facts


class FactsCache:
    """The facts of every host of the run, collected once, in parallel, on first use."""

    def __init__(self, run: RunConfig, targets: list[CheckTarget]) -> None:
        self._run = run
        self._targets = targets
        self._lock = threading.Lock()
        self._done: dict[str, Collected | BaseException] | None = None
        self.wall_seconds = 0.0

    def _collect_all(self) -> dict[str, Collected | BaseException]:
        if self._run.facts_file is not None:
            return self._precollected(self._run.facts_file)
        started = time.monotonic()
        seed_inventories(self._run.inventories)
        try:
            warm_up([host_spec(t, self._run.plan.ssh_config) for t in self._targets])
        except Exception:  # noqa: BLE001,S110 - each host then reports its own error
            pass

        def one(t: CheckTarget) -> Collected | BaseException:
            try:
                return collect(t, self._run.plan.ssh_config)
            except (HostUnreachable, CollectionError) as exc:
                return exc
            except Exception as exc:  # noqa: BLE001 - reported as this host's error
                return CollectionError(f"{t.name}: {type(exc).__name__}: {exc}")

        workers = min(self._run.forks, max(1, len(self._targets)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="esms-collect") as pool:
            done = dict(zip([t.name for t in self._targets],
                            pool.map(one, self._targets), strict=True))
        self.wall_seconds = time.monotonic() - started
        if self._run.facts_dir:
            self._run.facts_dir.mkdir(parents=True, exist_ok=True)
            for name, got in done.items():
                if isinstance(got, Collected):
                    (self._run.facts_dir / facts_file_name(name)).write_text(
                        json.dumps(got.facts, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return done

    def _precollected(self, path: Path) -> dict[str, Collected | BaseException]:
        """The facts another machine collected (esms_baseline.remote_check.WorkerFacts):
        ``{"hosts": {name: {"facts": {...}} | {"unreachable": msg} | {"error": msg}}}``."""
        hosts = (json.loads(path.read_text(encoding="utf-8")).get("hosts") or {})
        done: dict[str, Collected | BaseException] = {}
        for t in self._targets:
            entry = hosts.get(t.name) or {}
            facts = entry.get("facts")
            if "unreachable" in entry:
                done[t.name] = HostUnreachable(str(entry["unreachable"]))
            elif "error" in entry:
                done[t.name] = CollectionError(str(entry["error"]))
            elif isinstance(facts, dict) and facts.get("platform") == t.platform:
                done[t.name] = Collected(facts=facts, seconds=0.0)
            else:
                done[t.name] = CollectionError(f"{t.name}: no {t.platform} facts collected")
        return done

    def get(self, target: CheckTarget) -> dict[str, Any]:
        with self._lock:
            if self._done is None:
                self._done = self._collect_all()
        got = self._done.get(target.name)
        if got is None:
            raise CollectionError(f"{target.name}: not part of the run")
        if isinstance(got, BaseException):
            raise got
        return got.facts

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"wall_seconds": round(self.wall_seconds, 3), "hosts": {}}
        for name, got in (self._done or {}).items():
            out["hosts"][name] = (
                {"seconds": round(got.seconds, 3),
                 "on_host_seconds": got.facts.get("collect_seconds"),
                 "section_errors": got.facts.get("errors") or {}}
                if isinstance(got, Collected) else {"error": str(got)}
            )
        return out


def seed_inventories(inventories: dict[str, str]) -> None:
    """testinfra's reading of each inventory (``AnsibleRunner.inventory``, a cached
    property) set from the output the fleet check already had."""
    if not inventories:
        return
    from testinfra.utils.ansible_runner import AnsibleRunner

    for path, text in inventories.items():
        AnsibleRunner.get_runner(path).__dict__["inventory"] = json.loads(text)


@pytest.fixture(scope="session")
def esms_run(pytestconfig: pytest.Config) -> RunConfig:
    return pytestconfig.stash[_RUN]


@pytest.fixture(scope="session")
def facts_cache(pytestconfig: pytest.Config, esms_run: RunConfig) -> FactsCache:
    targets = [h for h in esms_run.plan.hosts if h.platform in _rules.RULES]
    cache = FactsCache(esms_run, targets)
    pytestconfig._esms_facts_cache = cache  # type: ignore[attr-defined]
    return cache


Verify = Callable[[CheckTarget, str], None]


@pytest.fixture
def verify(request: pytest.FixtureRequest, facts_cache: FactsCache) -> Verify:
    """``verify(target, control_id)``: excepted -> skip; facts -> rule -> assert."""

    def run(target: CheckTarget, control_id: str) -> None:
        reason = target.excepted.get(control_id)
        if reason is not None:
            pytest.skip(EXCEPTED_PREFIX + (reason or "no reason given"))
        facts = facts_cache.get(target)
        outcome = _rules.evaluate(target.platform, control_id, facts, target.vars)
        _record(request, control_id, target.name, outcome)
        if outcome.passed is None:
            pytest.skip(NA_PREFIX + outcome.message)
        assert outcome.passed, _failure_text(control_id, target.name, outcome)

    return run


VerifySite = Callable[[str], None]


@pytest.fixture
def esms_site() -> dict[str, Any] | None:
    """The site of a site test in a fleet run (parametrized then); None: the plan's site."""
    return None


@pytest.fixture
def verify_site(request: pytest.FixtureRequest, esms_run: RunConfig,
                esms_site: dict[str, Any] | None) -> VerifySite:
    """``verify_site(control_id)``: organisational evidence declared in the plan (in a fleet
    run: in the site's own plan)."""
    organisation = esms_run.plan.organisation if esms_site is None else esms_site["organisation"]
    today = (esms_run.plan.today if esms_site is None
             else _dt.date.fromisoformat(esms_site["today"]))

    def run(control_id: str) -> None:
        outcome = evidence(control_id, organisation, today)
        _record(request, control_id, SITE_HOST, outcome)
        assert outcome.passed, _failure_text(control_id, SITE_HOST, outcome)

    return run


def _record(request: pytest.FixtureRequest, control_id: str, host: str, outcome: Outcome) -> None:
    node = request.node
    node.stash[_OUTCOME] = outcome
    node.user_properties += [
        ("control", control_id),
        ("host", host),
        ("found", json.dumps(outcome.found, ensure_ascii=False, default=str)),
        ("expected", json.dumps(outcome.expected, ensure_ascii=False, default=str)),
    ]


def _failure_text(control_id: str, host: str, outcome: Outcome) -> str:
    return (
        f"{control_id} on {host}: {outcome.message}\n"
        f"  found:    {json.dumps(outcome.found, ensure_ascii=False, default=str)}\n"
        f"  expected: {json.dumps(outcome.expected, ensure_ascii=False, default=str)}"
    )
