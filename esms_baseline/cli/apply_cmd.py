"""``esms-baseline apply site.yml``: enforce the baseline with Ansible (ansible-runner)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from esms_baseline.catalogue import AREAS, load_catalogue
from esms_baseline.cli.fleet_cmd import add_fleet_arguments
from esms_baseline.cli.worker_opts import add_worker_arguments, worker_apply_fn
from esms_baseline.plan import build_plan
from esms_baseline.profile import SiteProfile, load_profile
from esms_baseline.results import ApplyResult, CheckResult, TaskOutcome
from esms_baseline.run import Progress, apply


def register(sub: Any) -> None:
    p = sub.add_parser("apply", help="apply the site profile to its hosts (Ansible)")
    p.add_argument("profile", type=Path, nargs="+",
                   help="the site profile (site.yml); several, or a folder: a fleet (docs/fleet.md)")
    p.add_argument("-i", "--inventory", type=Path, help="Ansible inventory (overrides the profile's)")
    p.add_argument("-l", "--limit", help="only these hosts or groups (comma-separated)")
    p.add_argument("--controls", help="only these control ids (comma-separated)")
    p.add_argument("--check", action="store_true", help="dry run: change nothing, say what would change")
    p.add_argument("--diff", action="store_true", help="show the differences in changed files")
    p.add_argument("-f", "--forks", type=int, default=10, help="hosts handled in parallel (default 10)")
    p.add_argument("--artifacts-dir", type=Path, help="where run artifacts go")
    p.add_argument("--vault-password-file", type=Path, help="password file of the profile's vault")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.add_argument("--trust-on-first-use", action="store_true",
                   help="record the SSH host key of a host seen for the first time (never "
                        "a changed one); see docs/host-keys.md")
    add_fleet_arguments(p)
    add_worker_arguments(p)
    p.add_argument("--drifted", action="store_true",
                   help="check first, then apply on each host only the controls that fail")
    p.add_argument("--history", type=Path, metavar="FILE",
                   help="SQLite history to record the apply (and --drifted's check) in "
                        "(default: $ESMS_HISTORY, $ESMS_STATE_DIR/history.sqlite or "
                        "~/.local/state/esms-baseline/)")
    p.add_argument("--no-history", action="store_true", help="do not record the run")
    p.set_defaults(func=run)


def split_ids(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [t.strip().upper() for t in text.split(",") if t.strip()]


def _progress(p: Progress) -> None:
    if p.outcome in (TaskOutcome.CHANGED, TaskOutcome.FAILED, TaskOutcome.UNREACHABLE):
        extra = f": {p.message}" if p.message else ""
        print(f"  {p.host:<12} {p.outcome.value:<11} {p.task}{extra}", file=sys.stderr, flush=True)


def render_table(result: ApplyResult) -> str:
    cat = load_catalogue()
    area_of = {c.id: c.area for c in cat.controls}
    areas = [a for a in AREAS if a not in ("organisation",)]
    used = [a for a in areas if any(area_of.get(cid) == a for h in result.hosts for cid in h.controls)]
    used += [a for a in areas if a not in used and any(
        area_of.get(cid) == a for cids in result.excepted.values() for cid in cids)]
    cols = [a for a in areas if a in used]
    rows = [["host", *cols, "ok", "changed", "failed"]]
    for h in result.hosts:
        row = [h.host]
        for a in cols:
            outcomes = [o for cid, o in h.controls.items() if area_of.get(cid) == a]
            excepted = [cid for cid in result.excepted.get(h.host, ()) if area_of.get(cid) == a]
            if h.unreachable:
                cell = "unreachable"
            elif TaskOutcome.FAILED in outcomes:
                cell = "failed"
            elif TaskOutcome.CHANGED in outcomes:
                cell = "changed"
            elif TaskOutcome.OK in outcomes:
                cell = "ok"
            else:
                cell = "-"
            if excepted:
                cell += f" (+{len(excepted)} excepted)" if cell != "-" else "excepted"
            row.append(cell)
        row += [str(h.ok), str(h.changed), str(h.failed)]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def run(args: argparse.Namespace) -> int:
    from esms_baseline.cli.fleet_cmd import fleet_or_single

    fleet_status = fleet_or_single(args, "apply")
    if fleet_status is not None:
        return fleet_status
    profile = load_profile(args.profile)
    controls = split_ids(args.controls)
    if args.drifted:
        return _run_drifted(args, profile, controls)
    plan = build_plan(profile, inventory=args.inventory, limit=args.limit, controls=controls)
    mode = "dry run (--check)" if args.check else "apply"
    print(f"{mode}: {profile.site.name}, {len(plan.hosts)} host(s): {', '.join(plan.host_names)}",
          file=sys.stderr)
    for h in plan.hosts:
        for cid, reason in sorted(h.excepted.items()):
            print(f"  {h.name:<12} excepted   {cid}: {reason}", file=sys.stderr)
    remote = worker_apply_fn(args)
    if remote is not None:
        print(f"  through the worker {args.worker}", file=sys.stderr)
    result = (remote or apply)(
        plan,
        controls=controls,
        check_mode=args.check,
        diff=args.diff,
        forks=args.forks,
        artifacts_dir=args.artifacts_dir,
        vault_password_file=args.vault_password_file,
        progress=None if args.quiet else _progress,
        trust_on_first_use=args.trust_on_first_use,
    )
    print(render_table(result))
    for ha in result.hosts:
        for err in ha.errors:
            print(f"error: {ha.host}: {err}", file=sys.stderr)
    verb = "would change" if args.check else "changed"
    print(f"\n{result.changed} task(s) {verb}; status {result.status}; artifacts: {result.artifacts_dir}")
    manual = render_manual_actions(result)
    if manual:
        print(manual)
    if not args.check:
        record_apply(args, result)
    return result.exit_code


def record_apply(args: argparse.Namespace, result: ApplyResult, mode: str = "apply") -> None:
    """Record the apply (status, manual actions) in the history, for `report`."""
    from esms_baseline.history import History, HistoryError, apply_payload

    if getattr(args, "no_history", False):
        return
    payload = apply_payload(result, mode)
    try:
        with History(getattr(args, "history", None)) as history:
            history.record_apply(result.site, result.started, result.finished, result.status,
                                 result.exit_code, payload)
    except HistoryError as exc:  # the apply is done: its own exit status stands
        print(f"warning: the apply was not recorded in the history: {exc}", file=sys.stderr)


def render_manual_actions(result: ApplyResult) -> str:
    """The manual actions of a run, loud and last (empty when there are none)."""
    actions = result.manual_actions
    if not actions:
        return ""
    head = (f"\nACTION MANUELLE REQUISE / MANUAL ACTION REQUIRED ({len(actions)}): every other "
            "control was enforced; these need a person (exit status 5):")
    lines = [head]
    lines += [f"  {host:<12} {a.control:<12} {a.reason}" for host, a in actions]
    return "\n".join(lines)
def _run_drifted(args: argparse.Namespace, profile: SiteProfile, controls: list[str] | None) -> int:
    """``apply --drifted``: check, then apply only the failing controls of each host."""
    from esms_baseline.converge import ALL, apply_drifted

    if args.check or controls:
        print("error: --drifted chooses the controls itself: not with --check or --controls",
              file=sys.stderr)
        return 2

    def checked(result: CheckResult, todo: dict[str, frozenset[str]]) -> None:
        if not args.no_history:  # recorded like `check` records it (drift and report see it)
            from esms_baseline.cli.drift_cmd import record_and_compare
            from esms_baseline.history import History

            with History(args.history) as history:
                record_and_compare(result, history)
        hosts = list(result.hosts)
        print(f"apply --drifted: {profile.site.name}, checked {len(hosts)} host(s), "
              f"{len(hosts) - len(todo)} with nothing to re-apply", file=sys.stderr)
        for host, cids in sorted(todo.items()):
            what = "every control (not reached by the check)" if cids == ALL else ", ".join(sorted(cids))
            print(f"  {host:<12} re-apply   {what}", file=sys.stderr)

    done = apply_drifted(
        profile,
        inventory=args.inventory,
        limit=args.limit,
        forks=args.forks,
        artifacts_dir=args.artifacts_dir,
        vault_password_file=args.vault_password_file,
        progress=None if args.quiet else _progress,
        checked=checked,
    )
    result = done.result
    print(render_table(result))
    for ha in result.hosts:
        for err in ha.errors:
            print(f"error: {ha.host}: {err}", file=sys.stderr)
    runs = f"{len(done.runs)} Ansible run(s)" if done.runs else "nothing to apply"
    print(f"\n{result.changed} task(s) changed; {runs}; status {result.status}"
          + (f"; artifacts: {result.artifacts_dir}" if done.runs else ""))
    manual = render_manual_actions(result)
    if manual:
        print(manual)
    record_apply(args, result, mode="apply --drifted")
    return result.exit_code
