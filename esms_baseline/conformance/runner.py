"""``check(plan)``: run the conformance suite in a pytest subprocess and read its results.

The suite runs in its own interpreter (isolation: pytest's import machinery, plugins and
warnings filters never touch the caller) with the plan in a temporary JSON file; the plugin
writes the results to another JSON file that is read back here (no stdout parsing).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from esms_baseline import __version__
from esms_baseline.catalogue import Control, load_catalogue
from esms_baseline.conformance.model import SUPPORTED_PLATFORMS, CheckPlan
from esms_baseline.conformance.rules import RULES
from esms_baseline.errors import PlanError
from esms_baseline.results import SITE_HOST, CheckResult, ControlResult, Verdict

SUITE_DIR = Path(__file__).resolve().parent / "suite"
PLUGIN = "esms_baseline.conformance.plugin"
#: The whole pytest run is stopped after this long (collection itself has its own limits).
RUN_TIMEOUT_SECONDS = 3600


def selected_controls(controls: Sequence[str] | None) -> tuple[Control, ...]:
    """Catalogue controls a check evaluates: every host control implemented on a platform we
    collect, and the organisational ones; or the given ids (PlanError for an unknown id)."""
    cat = load_catalogue()
    checkable = tuple(
        c for c in cat.controls
        if c.kind == "organisational" or any(c.implemented_on(p) for p in SUPPORTED_PLATFORMS)
    )
    if not controls:
        return checkable
    wanted = [c.strip().upper() for c in controls if c.strip()]
    unknown = [c for c in wanted if c not in cat.ids]
    if unknown:
        raise PlanError(f"unknown control(s): {', '.join(unknown)}")
    not_checkable = [c for c in wanted if c not in {x.id for x in checkable}]
    if not_checkable:
        raise PlanError(f"no conformance test yet for: {', '.join(not_checkable)}")
    return tuple(c for c in checkable if c.id in wanted)


def expected_rows(plan: CheckPlan, controls: Sequence[Control]) -> list[tuple[str, str]]:
    """(host, control) pairs a complete run reports, in report order."""
    rows: list[tuple[str, str]] = []
    for h in plan.hosts:
        for c in controls:
            if c.kind != "automated":
                continue
            status = c.platforms.get(h.platform)
            # a platform without a collector: every control it announces is an error row
            if status == "implemented" or (status and h.platform not in SUPPORTED_PLATFORMS):
                rows.append((h.name, c.id))
    rows += [(SITE_HOST, c.id) for c in controls if c.kind == "organisational"]
    return rows


def check(
    plan: CheckPlan,
    *,
    forks: int = 20,
    controls: Sequence[str] | None = None,
    junit_xml: Path | None = None,
    facts_dir: Path | None = None,
    trust_on_first_use: bool = False,
    state_dir: Path | None = None,
    facts_file: Path | None = None,
) -> CheckResult:
    """Check every host of ``plan`` (read-only) and return one result per host x control.

    ``forks``: hosts whose facts are collected at once. ``controls``: only these ids.
    ``junit_xml``: also write a JUnit report (test names carry control id and host).
    ``facts_dir``: also save each host's collected facts as ``<host>.json`` (diagnosis,
    fixtures). Never raises for a host problem: those are ``unreachable``/``error`` rows.
    SSH hosts named by ``ansible://`` URLs are first verified against the site's known_hosts
    (docs/host-keys.md): an unknown or changed key makes every row of that host
    ``unreachable`` with the reason, and nothing is run on it.
    ``facts_file``: the hosts' facts were collected elsewhere (``check --worker``,
    esms_baseline.remote_check): read them from this JSON file, connect to no host.
    """
    started = _dt.datetime.now().astimezone()
    chosen = selected_controls(controls)
    rows = expected_rows(plan, chosen)
    results: dict[tuple[str, str], ControlResult] = {}
    details: dict[str, Any] = {}

    results.update(static_results(plan, rows))
    refused: dict[str, str] = {}
    endpoints: dict[str, Any] = {}
    if facts_file is None:
        plan, refused, endpoints = verify_host_keys(
            plan, trust_on_first_use=trust_on_first_use, state_dir=state_dir)
    # else: collected (and host keys verified) by the worker
    for host, cid in rows:
        if host in refused and (host, cid) not in results:
            results[(host, cid)] = ControlResult(host, cid, Verdict.UNREACHABLE,
                                                 message=refused[host])
    to_run = [(h, c) for h, c in rows if (h, c) not in results]
    if to_run:
        out = _run_suite(plan, sorted({c for _, c in to_run}), forks, junit_xml, facts_dir,
                         facts_file=facts_file)
        details.update(out["details"])
        for r in _explain_key_failures(out["results"], endpoints):
            results.setdefault((r.host, r.control), r)
        fill_missing(results, to_run, out["details"])
    finished = _dt.datetime.now().astimezone()
    details["seconds"] = round((finished - started).total_seconds(), 3)
    return CheckResult(
        site=plan.site_name,
        started=started,
        finished=finished,
        results=tuple(results[k] for k in rows),
        baseline_version=plan.baseline_version or __version__,
        hosts=tuple(h.name for h in plan.hosts),
        details=details,
    )


def static_results(plan: CheckPlan, rows: Sequence[tuple[str, str]]
                   ) -> dict[tuple[str, str], ControlResult]:
    """The rows known without running anything: a platform without a collector, a control
    without a rule on its host's platform (both ``error``)."""
    results: dict[tuple[str, str], ControlResult] = {}
    for h in plan.hosts:
        if h.platform not in SUPPORTED_PLATFORMS:
            for host, cid in rows:
                if host == h.name:
                    results[(host, cid)] = ControlResult(
                        host, cid, Verdict.ERROR,
                        message=f"{h.platform} conformance not implemented yet")
    platform_of = {h.name: h.platform for h in plan.hosts}
    for host, cid in rows:
        if host == SITE_HOST:
            continue
        if cid not in RULES.get(platform_of[host], {}) and (host, cid) not in results:
            results[(host, cid)] = ControlResult(host, cid, Verdict.ERROR,
                                                 message="no conformance rule for this control")
    return results


def fill_missing(results: dict[tuple[str, str], ControlResult],
                 to_run: Sequence[tuple[str, str]], details: dict[str, Any]) -> None:
    """Rows the test run should have given and did not: ``error``, with why."""
    why = details.get("pytest_output_tail") or "the test run stopped early"
    for key in to_run:
        if key not in results:
            results[key] = ControlResult(
                key[0], key[1], Verdict.ERROR,
                message=f"no result from the test run (pytest exit "
                        f"{details.get('pytest_exit')}): {why}")


def verify_host_keys(
    plan: CheckPlan, *, trust_on_first_use: bool = False, state_dir: Path | None = None
) -> tuple[CheckPlan, dict[str, str], dict[str, Any]]:
    """Give the plan's SSH hosts (``ansible://`` URLs) the options that make ssh verify their
    keys (docs/host-keys.md). A check sends no secret, so the hosts are not probed first (no
    extra connection): ssh itself refuses an unknown or changed key, and the reason is
    explained afterwards (:func:`_explain_key_failures`). With ``trust_on_first_use`` they
    are probed first and unknown keys recorded. Returns the plan, the refused hosts (name ->
    message) and the endpoints."""
    from dataclasses import replace
    from urllib.parse import parse_qs, urlparse

    from esms_baseline import hostkeys

    by_inventory: dict[str, list[str]] = {}
    for t in plan.hosts:
        url = urlparse(t.testinfra_url)
        inv = parse_qs(url.query).get("ansible_inventory", [None])[0]
        if url.scheme == "ansible" and inv and t.platform in SUPPORTED_PLATFORMS:
            by_inventory.setdefault(inv, []).append(t.name)
    if not by_inventory:
        return plan, {}, {}
    site_file = hostkeys.site_known_hosts(plan.site_name, state_dir)
    endpoints: dict[str, hostkeys.Endpoint] = {}
    for inv, names in by_inventory.items():
        endpoints.update(hostkeys.inventory_endpoints([Path(inv)], names, site_file))
    # a paramiko connection ignores the enforced options (testinfra's accepts any key)
    refused = {n: ep.refusal for n, ep in endpoints.items() if ep.refusal}
    if trust_on_first_use:
        checks = hostkeys.verify_all([ep for ep in endpoints.values() if not ep.refusal],
                                     trust_on_first_use=True)
        refused.update({n: c.message for n, c in checks.items()
                        if c.status in (hostkeys.KeyStatus.UNKNOWN, hostkeys.KeyStatus.CHANGED)})
    targets = tuple(
        replace(t, ssh_options=hostkeys.shell_options(endpoints[t.name]))
        if t.name in endpoints else t
        for t in plan.hosts
    )
    return replace(plan, hosts=targets), refused, dict(endpoints)


def _explain_key_failures(results: Sequence[ControlResult],
                          endpoints: dict[str, Any]) -> list[ControlResult]:
    """Unreachable rows whose ssh refused the host key get the reason (unknown or changed
    key, and what to do), found by probing that host once."""
    from dataclasses import replace

    from esms_baseline import hostkeys

    marks = ("Host key verification failed", "HOST IDENTIFICATION HAS CHANGED",
             "host key is known")
    explained: dict[str, str] = {}
    out = []
    for r in results:
        if (r.verdict is Verdict.UNREACHABLE and r.host in endpoints
                and any(m in r.message for m in marks)):
            if r.host not in explained:
                explained[r.host] = hostkeys.verify(endpoints[r.host]).message or r.message
            r = replace(r, message=explained[r.host])
        out.append(r)
    return out


def _run_suite(
    plan: CheckPlan,
    controls: list[str],
    forks: int,
    junit_xml: Path | None,
    facts_dir: Path | None,
    extra: dict[str, Any] | None = None,
    *,
    facts_file: Path | None = None,
) -> dict[str, Any]:
    """``extra``: more keys of the run file (a fleet run's ``sites``, see fleet_check)."""
    with tempfile.TemporaryDirectory(prefix="esms-check-") as tmp:
        tmpdir = Path(tmp)
        run_file = tmpdir / "run.json"
        results_file = tmpdir / "results.json"
        ini = tmpdir / "pytest.ini"
        ini.write_text("[pytest]\naddopts =\nfilterwarnings =\n    ignore::DeprecationWarning\n",
                       encoding="utf-8")
        run_file.write_text(json.dumps({
            "plan": plan.to_dict(),
            "controls": controls,
            "forks": forks,
            "facts_dir": str(facts_dir) if facts_dir else None,
            "facts_file": str(facts_file) if facts_file else None,
            **(extra or {}),
        }, ensure_ascii=False, default=str), encoding="utf-8")
        argv = [
            sys.executable, "-m", "pytest",
            "-p", PLUGIN, "-p", "no:cacheprovider",
            "-c", str(ini), "--rootdir", str(tmpdir), "--confcutdir", str(SUITE_DIR),
            "-q", "--no-header", "-rN", "--tb=no",
            "--esms-run", str(run_file), "--esms-results", str(results_file),
            str(SUITE_DIR),
        ]
        if junit_xml:
            argv += [f"--junitxml={junit_xml}", "-o", "junit_suite_name=esms-baseline",
                     "-o", "junit_logging=no"]
        env = dict(os.environ)
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # only our plugin: fast and isolated
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        # testinfra's ansible:// backend runs ansible-inventory: find the one of our venv
        bindir = str(Path(sys.executable).parent)
        env["PATH"] = bindir + os.pathsep + env.get("PATH", os.defpath)
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False,
                                  timeout=RUN_TIMEOUT_SECONDS, cwd=tmpdir)
            code, output = proc.returncode, (proc.stdout + proc.stderr)
        except subprocess.TimeoutExpired as exc:
            code, output = -1, f"timed out after {RUN_TIMEOUT_SECONDS} s: {exc}"
        details: dict[str, Any] = {"pytest_exit": code}
        results: list[ControlResult] = []
        if results_file.exists():
            doc = json.loads(results_file.read_text(encoding="utf-8"))
            details["collect"] = doc.get("collect") or {}
            for r in doc.get("results") or []:
                results.append(ControlResult(
                    host=r["host"], control=r["control"], verdict=Verdict(r["verdict"]),
                    found=r.get("found"), expected=r.get("expected"),
                    message=r.get("message") or ""))
        if code not in (0, 1) or not results_file.exists():
            details["pytest_output_tail"] = output.strip()[-2000:]
        return {"results": results, "details": details}
