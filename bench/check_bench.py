"""Speed of ``esms-baseline check`` against ``ansible all -m ping`` on the same lab hosts.

    .venv/bin/python bench/check_bench.py 1 5 20      # host counts (default: 1 5 20)
    .venv/bin/python bench/check_bench.py --repeat 5 --keep 20

For each host count it brings a lab up (its own state dir), then runs, cold each time (no SSH
master left from a previous run) and ``--repeat`` times:
  - ``ansible all -m ping`` on the lab inventory, same forks;
  - ``check()`` with ``ssh://`` targets (the lab's ssh_config);
  - ``check()`` with ``ansible://`` targets, as ``plan.build_check_plan`` makes them (adds one
    ``ansible-inventory`` call);
and prints the median wall time, the peak RSS of the biggest process of each run
(``wait4`` rusage) and the ratio check/ping. No timed assertion: figures go in docs/check.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = Path("/var/lib/esms-baseline/lab-bench-check")
VARS = json.loads((ROOT / "tests" / "data" / "facts" / "vars-compliant.json").read_text())


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int, str]:
    """(wall seconds, peak RSS MiB of the largest process, exit status, output tail)."""
    with tempfile.TemporaryFile() as out:
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        tail = out.read().decode(errors="replace")[-400:]
    return wall, usage.ru_maxrss / 1024, proc.returncode, tail


def run_check(plan_file: str, forks: int) -> None:
    """Child mode: run check() on a plan file and print its summary."""
    from esms_baseline.conformance import CheckPlan, check

    plan = CheckPlan.from_dict(json.loads(Path(plan_file).read_text()))
    result = check(plan, forks=forks)
    print(json.dumps({"counts": dict(result.counts()), "exit": result.exit_code,
                      "collect_wall": result.details.get("collect", {}).get("wall_seconds")}))


def bench(count: int, repeat: int, forks: int, keep: bool) -> dict[str, Any]:
    from esms_baseline import lab as lab_api
    from esms_baseline.conformance import CheckPlan, CheckTarget

    lab = lab_api.up(count, state_dir=STATE_DIR)
    inv, cfg = lab.inventory_path, lab.ssh_config_path
    results: dict[str, Any] = {"hosts": count}
    with tempfile.TemporaryDirectory(prefix="esms-bench-") as tmp:
        plans = {}
        for kind, url in (("check ssh://", "ssh://{h}"),
                          ("check ansible://", "ansible://{h}?ansible_inventory=" + str(inv))):
            plan = CheckPlan(
                site_name="bench",
                hosts=tuple(CheckTarget(h.name, "debian", url.format(h=h.name), VARS)
                            for h in lab.hosts),
                ssh_config=cfg if kind == "check ssh://" else None,
            )
            plans[kind] = Path(tmp) / (kind.split()[1].strip(":/") + ".json")
            plans[kind].write_text(plan.to_json())
        runs: dict[str, list[tuple[float, float, int, str]]] = {}
        for i in range(repeat):
            cp = Path(tmp) / f"cp-{i}"  # a fresh ControlPath dir: every ping run is cold
            cp.mkdir()
            env = dict(os.environ, ANSIBLE_SSH_CONTROL_PATH_DIR=str(cp),
                       ANSIBLE_HOST_KEY_CHECKING="true", ANSIBLE_STDOUT_CALLBACK="oneline")
            runs.setdefault("ansible ping", []).append(timed(
                [str(Path(sys.executable).parent / "ansible"), "all", "-i", str(inv),
                 "-m", "ping", "-f", str(forks)], env))
            for kind, plan_file in plans.items():
                runs.setdefault(kind, []).append(timed(
                    [sys.executable, __file__, "--run-check", str(plan_file),
                     "--forks", str(forks)]))
        for kind, rs in runs.items():
            bad = [r for r in rs if r[2] not in (0, 1)]
            results[kind] = {
                "wall_s": round(statistics.median(r[0] for r in rs), 2),
                "min_s": round(min(r[0] for r in rs), 2),
                "peak_rss_mib": round(max(r[1] for r in rs), 1),
                "exit": sorted({r[2] for r in rs}),
                "last_output": rs[-1][3].strip().splitlines()[-1:] if rs[-1][3].strip() else [],
            }
            if bad:
                results[kind]["error"] = bad[0][3]
    ping = results["ansible ping"]["wall_s"]
    for kind in ("check ssh://", "check ansible://"):
        results[kind]["ratio_to_ping"] = round(results[kind]["wall_s"] / ping, 2)
    if not keep:
        lab_api.down(STATE_DIR)
    return results


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("counts", nargs="*", type=int, default=[1, 5, 20])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--forks", type=int, default=20)
    p.add_argument("--keep", action="store_true", help="leave the last lab up")
    p.add_argument("--run-check", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.run_check:
        run_check(args.run_check, args.forks)
        return 0
    try:
        for n in args.counts:
            r = bench(n, args.repeat, args.forks, keep=True)
            line = [f"{n:>3} host(s)"]
            for kind in ("ansible ping", "check ssh://", "check ansible://"):
                k = r[kind]
                ratio = f" x{k['ratio_to_ping']}" if "ratio_to_ping" in k else ""
                line.append(f"{kind}: {k['wall_s']:.2f} s ({k['peak_rss_mib']:.0f} MiB){ratio}")
                if "error" in k:
                    line.append(f"[{kind} error: {k['error'][-200:]}]")
            print(" | ".join(line), flush=True)
            print(json.dumps(r), file=sys.stderr, flush=True)
    finally:
        if not args.keep:
            from esms_baseline import lab as lab_api

            lab_api.down(STATE_DIR)
    return 0


if __name__ == "__main__":
    sys.exit(main())
