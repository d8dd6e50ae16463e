"""Speed and memory of ``esms-baseline apply`` against ``ansible all -m setup`` on the same lab.

    .venv/bin/python bench/apply_bench.py 1 5 20      # host counts (default: 1 5 20)
    .venv/bin/python bench/apply_bench.py 1 --repeat 2 --state-dir /var/lib/esms-baseline/lab-mine

For each host count it brings a lab up (its own state dir) with every host in one group of a
profile derived from examples/site.yml (no backup; ESMS-AV-02 excepted: lab hosts have no
network to fetch signatures), then runs, each measured
run preceded by a reference run of ``ansible all -m setup`` (same inventory, same forks, cold:
no SSH master left over) so that both see the same load on a shared machine:

  - ``first apply``: the full apply of fresh hosts (once);
  - ``re-apply``: the full apply of compliant hosts (idempotent, nothing changes);
  - ``check``: ``esms-baseline check`` of the compliant hosts;
  - ``drifted (compliant)``: ``apply --drifted`` of the compliant hosts (check, then nothing);
  - ``drifted (1 break/host)``: one control broken by hand on every host (the banner), then
    ``apply --drifted`` (check, then that control's tasks only);

every run but the first ``--repeat`` times. It prints the median wall time of each, its ratio
to the median of its own reference runs, and the controller's peak memory: the largest single
process (``wait4`` rusage) and the peak sum of RSS over the whole process tree (``/proc``
polled every 0.2 s). No timed assertion: figures go in docs/apply.md.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = Path("/var/lib/esms-baseline/lab-bench-apply")
#: How a control is broken on every host for the drift-targeted run (run as root on the host).
BREAK = ("ESMS-BAN-01", "echo Bienvenue > /etc/issue.net")


def _tree_rss_kib(root_pid: int) -> int:
    """Sum of the RSS (KiB) of ``root_pid`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(d), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields[21]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    total, todo = 0, [root_pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total


def timed(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> dict[str, Any]:
    """Run ``argv``: wall seconds, peak RSS of its largest process and of its whole tree (MiB),
    exit status and the tail of its output."""
    with tempfile.TemporaryFile() as out:
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        peak = [0]
        done = threading.Event()

        def poll() -> None:
            while not done.wait(0.2):
                peak[0] = max(peak[0], _tree_rss_kib(proc.pid))

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        done.set()
        poller.join()
        out.seek(0)
        tail = out.read().decode(errors="replace")[-600:]
    return {"wall": wall, "rss_max_mib": usage.ru_maxrss / 1024, "rss_tree_mib": peak[0] / 1024,
            "exit": os.waitstatus_to_exitcode(status), "tail": tail}


def bench_profile(names: list[str], path: Path) -> dict[str, str]:
    """Write a profile for the lab hosts ``names`` (all in group ``bureaux``) and return the
    environment variables of its secrets, with random values."""
    raw = yaml.safe_load((ROOT / "examples" / "site.yml").read_text(encoding="utf-8"))
    raw["inventory"]["hosts"] = {n: {"groups": ["bureaux"]} for n in names}
    # Lab hosts have no network: ESMS-AV-02 (fresh signatures) fails whatever is done; excepted
    # here so that a compliant host is compliant (otherwise --drifted re-applies it each time).
    raw["exceptions"] = [{"control": "ESMS-AV-02", "hosts": names, "approved_by": "bench",
                          "reason": "Lab hosts have no network.", "expires": "2099-12-31"}]
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    envs = {u["initial_password"]["env"] for u in raw["accounts"]["users"] if "initial_password" in u}
    envs.add(raw["backup"]["password"]["env"])
    return {e: "Esms-" + secrets.token_urlsafe(16) for e in sorted(envs)}


def bench(count: int, repeat: int, forks: int, state_dir: Path, drifted: bool,
          baseline_src: Path | None = None, only: set[str] | None = None) -> dict[str, Any]:
    from esms_baseline import lab as lab_api

    lab = lab_api.up(count, state_dir=state_dir)
    inv = lab.inventory_path
    names = [h.name for h in lab.hosts]
    bin_dir = Path(sys.executable).parent
    runs: dict[str, list[dict[str, Any]]] = {}
    refs: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="esms-bench-") as tmp:
        profile = Path(tmp) / "site.yml"
        secret_env = bench_profile(names, profile)
        env = dict(os.environ, **secret_env, ESMS_STATE_DIR=str(Path(tmp) / "state"))
        cli = [sys.executable, "-m", "esms_baseline"]
        common = [str(profile), "-i", str(inv), "-f", str(forks)]
        n_ref = [0]

        def reference() -> dict[str, Any]:
            n_ref[0] += 1
            cp = Path(tmp) / f"cp-{n_ref[0]}"  # a fresh ControlPath dir: cold, like an apply
            cp.mkdir()
            ref_env = dict(env, ANSIBLE_SSH_CONTROL_PATH_DIR=str(cp), ANSIBLE_HOST_KEY_CHECKING="false",
                           ANSIBLE_STDOUT_CALLBACK="oneline")
            return timed([str(bin_dir / "ansible"), "all", "-i", str(inv), "-m", "setup",
                          "-f", str(forks)], ref_env)

        def measure(kind: str, argv: list[str], before: str | None = None) -> None:
            if before:
                for n in names:
                    lab_api.nsenter_run(lab, n, ["bash", "-c", before])
            refs.setdefault(kind, []).append(reference())
            run_env, cwd = env, None
            if kind.endswith("[baseline]"):  # another source tree of esms-baseline, same lab
                # (-m puts the current folder first on sys.path: run from that tree)
                run_env, cwd = dict(env, PYTHONPATH=str(baseline_src)), baseline_src
            runs.setdefault(kind, []).append(timed(argv, run_env, cwd))

        measure("first apply", [*cli, "apply", *common, "-q"])
        plan: list[tuple[str, list[str], str | None]] = [
            ("re-apply", [*cli, "apply", *common, "-q"], None),
            ("check", [*cli, "check", *common, "--no-history"], None),
        ]
        if drifted:
            plan += [
                ("drifted (compliant)", [*cli, "apply", *common, "-q", "--drifted"], None),
                ("drifted (1 break/host)", [*cli, "apply", *common, "-q", "--drifted"], BREAK[1]),
            ]
        if baseline_src is not None:
            plan.insert(0, ("re-apply [baseline]", [*cli, "apply", *common, "-q"], None))
        plan = [p for p in plan if only is None or p[0].split(" [")[0] in only]
        for _ in range(repeat):
            for kind, argv, before in plan:
                measure(kind, argv, before)
    results: dict[str, Any] = {"hosts": count, "forks": forks, "repeat": repeat}
    for kind, rs in runs.items():
        ref = statistics.median(r["wall"] for r in refs[kind])
        wall = statistics.median(r["wall"] for r in rs)
        results[kind] = {
            "wall_s": round(wall, 2),
            "setup_s": round(ref, 2),
            "ratio_to_setup": round(wall / ref, 1),
            "rss_max_mib": round(max(r["rss_max_mib"] for r in rs), 1),
            "rss_tree_mib": round(max(r["rss_tree_mib"] for r in rs), 1),
            "exit": sorted({r["exit"] for r in rs}),
        }
        if any(r["exit"] not in (0, 1) for r in rs) or kind != "check" and any(r["exit"] for r in rs):
            results[kind]["last_output"] = rs[-1]["tail"]
    return results


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("counts", nargs="*", type=int, default=[1, 5, 20])
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--forks", type=int, default=20)
    p.add_argument("--state-dir", type=Path, default=STATE_DIR)
    p.add_argument("--no-drifted", action="store_true", help="skip the --drifted runs")
    p.add_argument("--keep", action="store_true", help="leave the last lab up")
    p.add_argument("--baseline-src", type=Path,
                   help="also time the re-apply of another source tree of esms-baseline (e.g. "
                        "`git archive <commit>` unpacked), interleaved with this one: before/after")
    p.add_argument("--only", help="only these runs after the first apply (comma-separated, e.g. re-apply)")
    args = p.parse_args()
    from esms_baseline import lab as lab_api

    try:
        for n in args.counts:
            lab_api.down(args.state_dir)
            r = bench(n, args.repeat, args.forks, args.state_dir, drifted=not args.no_drifted,
                      baseline_src=args.baseline_src,
                      only=set(args.only.split(",")) if args.only else None)
            line = [f"{n:>3} host(s)"]
            for kind, k in r.items():
                if isinstance(k, dict):
                    line.append(f"{kind}: {k['wall_s']:.1f} s = x{k['ratio_to_setup']} setup "
                                f"({k['setup_s']:.1f} s), {k['rss_tree_mib']:.0f} MiB")
            print(" | ".join(line), flush=True)
            print(json.dumps(r), file=sys.stderr, flush=True)
    finally:
        if not args.keep:
            lab_api.down(args.state_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
