"""Fleet: the same action on many sites (one profile each), concurrently within a bound.

``find_profiles(paths)`` expands files and folders (``sites/``: every ``*.yml``/``*.yaml``
that is a site profile). ``run_fleet(profiles, action, ...)`` validates every profile first
(an invalid one, or a second profile with an already used site name, becomes a failed site
with its problems; the others still run), then runs ``check``, ``drift`` or ``apply`` on the
valid sites, ``sites_parallel`` at a time. Each site is recorded in the history under its own
name, exactly as a single-site run records it. The :class:`FleetResult` holds one
:class:`SiteRun` per profile, in the order given.

Fleet exit status (:attr:`FleetResult.exit_code`, documented in docs/fleet.md): the highest
status of its sites, each being the status the single-site command would have returned:
4 new drift > 3 incomplete (unreachable host, internal error) > 2 invalid profile > 1
failures > 0 all conformant. No profile at all is a usage error (2).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from esms_baseline.errors import EsmsError, PlanError, ProfileError
from esms_baseline.profile import SiteProfile, validate_file
from esms_baseline.results import ApplyResult, CheckResult, Verdict

ACTIONS = ("check", "drift", "apply")
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3
PROFILE_SUFFIXES = (".yml", ".yaml")

#: History writes of concurrent sites go one at a time (one SQLite file).
_HISTORY_LOCK = threading.Lock()


@dataclass(frozen=True)
class SiteRun:
    """What one site of a fleet run gave. ``passed``/``failed``/``excepted`` count host x
    control rows (points conformes / non conformes / dérogations)."""

    profile: Path
    site: str | None
    exit_code: int
    hosts: int = 0
    passed: int = 0
    failed: int = 0
    excepted: int = 0
    new_drift: int = 0
    unreachable: int = 0
    changed: int = 0
    errors: tuple[str, ...] = ()
    run_id: int | None = None
    seconds: float = 0.0
    result: CheckResult | ApplyResult | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "result"}
        d["profile"] = str(self.profile)
        d["errors"] = list(self.errors)
        d["seconds"] = round(self.seconds, 3)
        return d


@dataclass(frozen=True)
class FleetResult:
    action: str
    started: _dt.datetime
    finished: _dt.datetime
    sites: tuple[SiteRun, ...]

    @property
    def exit_code(self) -> int:
        if not self.sites:
            return EXIT_USAGE
        return max(s.exit_code for s in self.sites)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat(),
            "exit_code": self.exit_code,
            "sites": [s.to_dict() for s in self.sites],
        }


def is_profile_file(path: Path) -> bool:
    """A YAML file whose top level has ``schema_version`` and ``site`` (not an inventory, not
    an ``esms_site`` wrapper). Unreadable files count as profiles: their error is reported."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return True
    return isinstance(data, dict) and "site" in data and "plugin" not in data


def find_profiles(paths: Sequence[Path]) -> list[Path]:
    """Files as given; folders give their ``*.yml``/``*.yaml`` site profiles, sorted. A
    missing path raises PlanError (a usage error: nothing has run)."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found += [f for f in sorted(p.iterdir())
                      if f.is_file() and f.suffix in PROFILE_SUFFIXES and is_profile_file(f)]
        elif p.exists():
            found.append(p)
        else:
            raise PlanError(f"{p}: no such profile or folder")
    unique: dict[Path, Path] = {}
    for f in found:
        unique.setdefault(f.resolve(), f)
    return list(unique.values())


def validate_profiles(profiles: Sequence[Path]) -> tuple[dict[Path, SiteProfile], dict[Path, SiteRun]]:
    """Every profile validated: the good ones, and a failed SiteRun for each bad one (its
    problems, or the site name it shares with an earlier profile)."""
    good: dict[Path, SiteProfile] = {}
    bad: dict[Path, SiteRun] = {}
    names: dict[str, Path] = {}
    slugs: dict[str, Path] = {}
    for path in profiles:
        try:
            profile, problems = validate_file(path)
        except EsmsError as exc:  # unreadable inventory and the like
            profile, problems = None, []
            bad[path] = SiteRun(profile=path, site=None, exit_code=EXIT_USAGE, errors=(str(exc),))
            continue
        if profile is None:
            bad[path] = SiteRun(profile=path, site=None, exit_code=EXIT_USAGE,
                                errors=tuple(str(p) for p in problems))
            continue
        name = profile.site.name
        if name in names:
            bad[path] = SiteRun(profile=path, site=name, exit_code=EXIT_USAGE, errors=((
                f"{path}: site.name {name!r} is already the name of {names[name]}: each site "
                f"needs its own name (its history is kept under it)"),))
            continue
        from esms_baseline.hostkeys import site_slug

        twin = slugs.get(site_slug(name))
        if twin is not None:
            bad[path] = SiteRun(profile=path, site=name, exit_code=EXIT_USAGE, errors=((
                f"{path}: site.name {name!r} and that of {twin} would share one known_hosts "
                f"file ({site_slug(name)!r}): a host key trusted for one site would vouch for "
                "the other's host of the same name; rename one site"),))
            continue
        slugs[site_slug(name)] = path
        names[name] = path
        good[path] = profile
    return good, bad


#: ``(profile_path, profile) -> SiteRun``: one site's work.
SiteFn = Callable[[Path, SiteProfile], SiteRun]


def guarded(path: Path, profile: SiteProfile, fn: Callable[[Path, SiteProfile], Any]) -> Any:
    """``fn(path, profile)``; a site that raises becomes a failed SiteRun (status 2 for a
    bad profile, else 3) and never stops the others."""
    try:
        return fn(path, profile)
    except ProfileError as exc:
        return SiteRun(profile=path, site=profile.site.name, exit_code=EXIT_USAGE,
                       errors=tuple(str(p) for p in exc.errors))
    except EsmsError as exc:
        return SiteRun(profile=path, site=profile.site.name, exit_code=EXIT_INCOMPLETE,
                       errors=(str(exc),))
    except Exception as exc:  # noqa: BLE001 - one site's bug never stops the fleet
        return SiteRun(profile=path, site=profile.site.name, exit_code=EXIT_INCOMPLETE,
                       errors=(f"internal error: {type(exc).__name__}: {exc}",))


def run_fleet(
    action: str,
    profiles: Sequence[Path],
    site_fn: SiteFn,
    *,
    sites_parallel: int = 2,
    on_done: Callable[[SiteRun], None] | None = None,
) -> FleetResult:
    """Run ``site_fn`` on every valid profile, ``sites_parallel`` sites at a time; a site that
    raises becomes a failed SiteRun (status 3, or 2 for a bad profile) and never stops the
    others. ``on_done`` is called as each site ends (from worker threads)."""
    if sites_parallel < 1:
        raise PlanError("--sites-parallel must be at least 1")
    started = _dt.datetime.now(_dt.UTC)
    good, bad = validate_profiles(profiles)
    results: dict[Path, SiteRun] = dict(bad)
    if on_done is not None:
        for r in bad.values():
            on_done(r)

    def one(path: Path) -> SiteRun:
        t0 = time.monotonic()
        run: SiteRun = guarded(path, good[path], site_fn)
        run = dataclasses.replace(run, seconds=time.monotonic() - t0)
        if on_done is not None:
            on_done(run)
        return run

    with ThreadPoolExecutor(max_workers=sites_parallel, thread_name_prefix="esms-site") as pool:
        for path, run in zip(good, pool.map(one, list(good)), strict=True):
            results[path] = run
    return FleetResult(action=action, started=started, finished=_dt.datetime.now(_dt.UTC),
                       sites=tuple(results[p] for p in profiles))


def check_site_run(path: Path, result: CheckResult, *, new_drift: int = 0,
                   exit_code: int | None = None, run_id: int | None = None) -> SiteRun:
    counts = result.counts()
    unreachable = {r.host for r in result.results if r.verdict is Verdict.UNREACHABLE}
    errors = tuple(f"{r.host}: {r.control}: {r.message}" for r in result.results
                   if r.verdict is Verdict.ERROR)
    return SiteRun(
        profile=path, site=result.site,
        exit_code=result.exit_code if exit_code is None else exit_code,
        hosts=len(result.hosts), passed=counts.get(Verdict.PASS.value, 0),
        failed=counts.get(Verdict.FAIL.value, 0), excepted=counts.get(Verdict.EXCEPTED.value, 0),
        new_drift=new_drift, unreachable=len(unreachable), errors=errors, run_id=run_id,
        result=result)


def check_site(
    path: Path,
    profile: SiteProfile,
    *,
    inventory: Path | None = None,
    forks: int = 20,
    history: Path | None = None,
    record: bool = True,
    drift_exit: bool = False,
    notify_settings: Any = None,
    controls: Sequence[str] | None = None,
) -> SiteRun:
    """Check one site (read-only), record it in the history and compare it with the site's
    previous run. ``drift_exit``: the site's status is the drift status (4 = new failures),
    as ``esms-baseline drift`` returns it; ``notify_settings``: notify new drift."""
    from esms_baseline.conformance import check
    from esms_baseline.plan import build_check_plan

    result = check(build_check_plan(profile, inventory), forks=forks, controls=controls)
    return record_check(path, result, history=history, record=record, drift_exit=drift_exit,
                        notify_settings=notify_settings)


def record_check(path: Path, result: CheckResult, *, history: Path | None = None,
                 record: bool = True, drift_exit: bool = False,
                 notify_settings: Any = None) -> SiteRun:
    """One site's check result recorded in the history under its name, compared with the
    site's previous run (new drift notified): the same for a single-site and a fleet check."""
    from esms_baseline.drift import compare
    from esms_baseline.history import RUN_ID_KEY, History

    if not record:
        return check_site_run(path, result)
    with _HISTORY_LOCK, History(history) as h:
        run_id = h.record(result)
        current = dataclasses.replace(result, details={**result.details, RUN_ID_KEY: run_id})
        drift = compare(h.previous(result.site, run_id), current)
    new = sum(len(hd.new_failures) for hd in drift.hosts())
    if notify_settings is not None and drift.has_new:
        from esms_baseline.notify import notify

        outcome = notify(drift, notify_settings)
        errors = tuple(f"notification failed: {e}" for e in outcome.errors)
    else:
        errors = ()
    run = check_site_run(path, current, new_drift=new,
                         exit_code=drift.exit_code if drift_exit else None, run_id=run_id)
    return dataclasses.replace(run, errors=run.errors + errors)


def apply_site(
    path: Path,
    profile: SiteProfile,
    *,
    inventory: Path | None = None,
    forks: int = 10,
    check_mode: bool = False,
    artifacts_dir: Path | None = None,
    vault_password_file: Path | None = None,
    apply_fn: Callable[..., ApplyResult] | None = None,
    controls: Sequence[str] | None = None,
    history: Path | None = None,
    record: bool = True,
) -> SiteRun:
    """Apply one site (``check_mode``: dry run). ``apply_fn``: another way to run the plan
    with the same keyword arguments as :func:`esms_baseline.run.apply` (a remote worker).
    A real apply is recorded in the site's history (``record``), as a single-site apply is:
    the report shows its manual actions. A history that cannot be written is one more error
    of the site; the apply's own exit status stands."""
    from esms_baseline.history import History, HistoryError, apply_payload
    from esms_baseline.plan import build_plan
    from esms_baseline.run import apply

    plan = build_plan(profile, inventory=inventory, controls=controls)
    result = (apply_fn or apply)(plan, check_mode=check_mode, forks=forks, controls=controls,
                                 artifacts_dir=artifacts_dir,
                                 vault_password_file=vault_password_file)
    errors = tuple(f"{h.host}: {e}" for h in result.hosts for e in h.errors)
    if record and not check_mode:
        try:
            with _HISTORY_LOCK, History(history) as h:
                h.record_apply(result.site, result.started, result.finished, result.status,
                               result.exit_code, apply_payload(result))
        except HistoryError as exc:
            errors += (f"the apply was not recorded in the history: {exc}",)
    return SiteRun(profile=path, site=result.site, exit_code=result.exit_code,
                   hosts=len(result.hosts), unreachable=sum(h.unreachable for h in result.hosts),
                   failed=sum(h.failed for h in result.hosts), changed=result.changed,
                   errors=errors, result=result)


_HEADERS = {
    "fr": {"check": ("site", "hôtes", "conformes", "non conformes", "dérogations",
                     "nouvelle dérive", "injoignables", "statut"),
           "apply": ("site", "hôtes", "modifiés", "tâches en échec", "injoignables", "statut")},
    "en": {"check": ("site", "hosts", "passed", "failed", "excepted", "new drift",
                     "unreachable", "status"),
           "apply": ("site", "hosts", "changed", "failed tasks", "unreachable", "status")},
}


def format_summary(fleet: FleetResult, lang: str = "fr") -> str:
    """The fleet summary table, then the problems of each failed site."""
    kind = "apply" if fleet.action == "apply" else "check"
    rows = [list(_HEADERS["en" if lang == "en" else "fr"][kind])]
    for s in fleet.sites:
        name = s.site or s.profile.name
        if kind == "check":
            rows.append([name, str(s.hosts), str(s.passed), str(s.failed), str(s.excepted),
                         str(s.new_drift), str(s.unreachable), str(s.exit_code)])
        else:
            rows.append([name, str(s.hosts), str(s.changed), str(s.failed), str(s.unreachable),
                         str(s.exit_code)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    for s in fleet.sites:
        for e in s.errors[:20]:
            lines.append(f"{s.site or s.profile}: {e}")
        if len(s.errors) > 20:
            lines.append(f"{s.site or s.profile}: ... {len(s.errors) - 20} more")
    status = "exit status" if lang == "en" else "statut de sortie"
    lines.append(f"{len(fleet.sites)} sites; {status} {fleet.exit_code}")
    return "\n".join(lines)


__all__ = ["ACTIONS", "FleetResult", "SiteFn", "SiteRun", "apply_site", "check_site",
           "check_site_run", "find_profiles", "format_summary", "guarded", "is_profile_file",
           "record_check", "run_fleet", "validate_profiles"]

