"""``check_many(plans)``: the conformance check of several sites in ONE test run.

A fleet check used to run one pytest process per site, each paying its own interpreter and
inventory start-ups. Here every site is prepared exactly as :func:`runner.check` prepares
one (same rows, same static rows, the site's own host-key verification against ITS
known_hosts and ssh config), then the hosts of all the sites go into one plan, named
``<site index>|<host>`` (unique even when two sites name a host alike), and one pytest run
collects all their facts in one parallel pass (``forks`` at a time) and evaluates them. The
results are split back per site (:func:`split_results`): each site gets the CheckResult a
single-site check would have given, with ``details["conformance_run"]`` naming the shared
run. A site that cannot be prepared (unreadable inventory...) gets its error and is left out;
an unreachable host only has its own rows ``unreachable``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from esms_baseline import __version__
from esms_baseline.conformance.collectors import host_spec
from esms_baseline.conformance.model import CheckPlan, CheckTarget
from esms_baseline.conformance.runner import (
    _explain_key_failures,
    _run_suite,
    expected_rows,
    fill_missing,
    selected_controls,
    static_results,
    verify_host_keys,
)
from esms_baseline.errors import EsmsError
from esms_baseline.results import SITE_HOST, CheckResult, ControlResult, Verdict

SEP = "|"


@dataclass
class _Site:
    index: int
    plan: CheckPlan
    rows: list[tuple[str, str]]
    results: dict[tuple[str, str], ControlResult]
    endpoints: dict[str, Any]
    to_run: list[tuple[str, str]]


def _prepare(index: int, plan: CheckPlan, controls: Sequence[str] | None, *,
             trust_on_first_use: bool, state_dir: Any) -> _Site:
    rows = expected_rows(plan, selected_controls(controls))
    results = static_results(plan, rows)
    plan, refused, endpoints = verify_host_keys(plan, trust_on_first_use=trust_on_first_use,
                                                state_dir=state_dir)
    for host, cid in rows:
        if host in refused and (host, cid) not in results:
            results[(host, cid)] = ControlResult(host, cid, Verdict.UNREACHABLE,
                                                 message=refused[host])
    to_run = [(h, c) for h, c in rows if (h, c) not in results]
    return _Site(index, plan, rows, results, endpoints, to_run)


def merged_plan(sites: Sequence[_Site]) -> tuple[CheckPlan, list[dict[str, Any]]]:
    """One plan with the hosts of every site that still have rows to run (a refused or
    unsupported host is never contacted), named ``<index>|<host>``, each carrying its site's
    ssh config in its URL; and the run file's ``sites`` (their organisational evidence)."""
    hosts: list[CheckTarget] = []
    extra: list[dict[str, Any]] = []
    for s in sites:
        wanted = {h for h, _ in s.to_run}
        for t in s.plan.hosts:
            if t.name in wanted:
                hosts.append(dataclasses.replace(
                    t, name=f"{s.index}{SEP}{t.name}",
                    testinfra_url=host_spec(t, s.plan.ssh_config)))
        if SITE_HOST in wanted:
            extra.append({"index": s.index, "organisation": dict(s.plan.organisation),
                          "today": s.plan.today.isoformat()})
    return CheckPlan(site_name="(fleet)", hosts=tuple(hosts), baseline_version=__version__), extra


def split_results(results: Sequence[ControlResult]) -> dict[int, list[ControlResult]]:
    """The rows of a merged run, per site index, with the hosts' own names back. A row whose
    host is not ``<index>|...`` (never written by the plugin) is dropped."""
    out: dict[int, list[ControlResult]] = {}
    for r in results:
        index, sep, host = r.host.partition(SEP)
        if not sep or not index.isdigit():
            continue
        out.setdefault(int(index), []).append(dataclasses.replace(r, host=host))
    return out


def split_collect(collect: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """The facts-collection summary of a merged run, per site index."""
    out: dict[int, dict[str, Any]] = {}
    for key, value in (collect.get("hosts") or {}).items():
        index, sep, host = str(key).partition(SEP)
        if sep and index.isdigit():
            site = out.setdefault(int(index), {"wall_seconds": collect.get("wall_seconds"),
                                               "hosts": {}})
            site["hosts"][host] = value
    return out


def known_inventories(plan: CheckPlan) -> dict[str, str]:
    """The inventories of the plan's ``ansible://`` hosts that were already read while the
    fleet was prepared (:func:`esms_baseline.plan.inventories_read_once`): path -> output."""
    from urllib.parse import parse_qs, urlparse

    from esms_baseline.plan import cached_inventory_text

    out: dict[str, str] = {}
    for t in plan.hosts:
        url = urlparse(t.testinfra_url)
        inv = parse_qs(url.query).get("ansible_inventory", [None])[0]
        if url.scheme == "ansible" and inv and inv not in out:
            text = cached_inventory_text([Path(inv)])
            if text is not None and not may_hold_secrets(text):
                out[inv] = text
    return out


_SECRET_NAME = re.compile(r"pass|secret|token|vault|credential", re.IGNORECASE)


def may_hold_secrets(inventory_text: str) -> bool:
    """An inventory listing with a variable named like a secret (``ansible_password``,
    ``*_token``...) or a vaulted value is never written to the run file: testinfra then
    reads that inventory itself, as in a single-site check."""
    try:
        data = json.loads(inventory_text)
    except ValueError:
        return True
    if "__ansible_vault" in inventory_text:
        return True
    return _secret_key_in(data)


def _secret_key_in(value: Any) -> bool:
    """A key named like a secret anywhere (host or group vars, nested dicts and lists)."""
    if isinstance(value, dict):
        return any(_SECRET_NAME.search(str(k)) or _secret_key_in(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_secret_key_in(v) for v in value)
    return False


def check_many(
    plans: Sequence[CheckPlan],
    *,
    forks: int = 20,
    controls: Sequence[str] | None = None,
    trust_on_first_use: bool = False,
    state_dir: Any = None,
) -> list[CheckResult | EsmsError]:
    """Check every plan (read-only) in one test run; one CheckResult per plan, in order, or
    the EsmsError that kept that site from being prepared. ``forks``: hosts whose facts are
    collected at once, over all the sites. ``controls``: only these ids (PlanError for an
    unknown one, raised before anything runs)."""
    selected_controls(controls)  # a bad id is a usage error for the whole fleet
    started = _dt.datetime.now().astimezone()
    prepared: dict[int, _Site | EsmsError] = {}
    for i, plan in enumerate(plans):
        try:
            prepared[i] = _prepare(i, plan, controls, trust_on_first_use=trust_on_first_use,
                                   state_dir=state_dir)
        except EsmsError as exc:
            prepared[i] = exc
    sites = [s for s in prepared.values() if isinstance(s, _Site)]
    run_id = uuid.uuid4().hex
    todo = [s for s in sites if s.to_run]
    out: dict[str, Any] = {"results": [], "details": {}}
    if todo:
        merged, extra = merged_plan(todo)
        wanted = sorted({c for s in todo for _, c in s.to_run})
        out = _run_suite(merged, wanted, forks, None, None,
                         extra={"sites": extra, "inventories": known_inventories(merged)})
    by_site = split_results(out["results"])
    collect = split_collect(out["details"].get("collect") or {})
    finished = _dt.datetime.now().astimezone()
    results: list[CheckResult | EsmsError] = []
    for i, plan in enumerate(plans):
        got = prepared[i]
        if isinstance(got, EsmsError):
            results.append(got)
            continue
        rows = dict(got.results)
        details: dict[str, Any] = {}
        if got.to_run:
            details = {k: v for k, v in out["details"].items() if k != "collect"}
            details["collect"] = collect.get(i, {})
            expected = set(got.to_run)
            for r in _explain_key_failures(by_site.get(i, []), got.endpoints):
                if (r.host, r.control) in expected:
                    rows.setdefault((r.host, r.control), r)
            fill_missing(rows, got.to_run, details)
        details["conformance_run"] = {"id": run_id, "sites": len(todo),
                                      "hosts": sum(len({h for h, _ in s.to_run} - {SITE_HOST})
                                                   for s in todo)}
        details["seconds"] = round((finished - started).total_seconds(), 3)
        results.append(CheckResult(
            site=plan.site_name, started=started, finished=finished,
            results=tuple(rows[k] for k in got.rows),
            baseline_version=plan.baseline_version or __version__,
            hosts=tuple(h.name for h in plan.hosts), details=details))
    return results


__all__ = ["SEP", "check_many", "merged_plan", "split_collect", "split_results"]
