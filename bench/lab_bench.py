"""Benchmark the lab: time to build the base image, time to boot N hosts (until every host
answers over SSH and its boot is finished), memory per booted host, for N = 1, 5, 20.

Not a timed test: run it by hand, as root, and copy the table into docs/lab.md.

    .venv/bin/python bench/lab_bench.py               # cold build in a temporary cache
    .venv/bin/python bench/lab_bench.py --cached      # reuse the shared base cache
    .venv/bin/python bench/lab_bench.py -n 1 -n 5 -n 20 --suite trixie
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from esms_baseline import lab
from esms_baseline.lab import cgroups, image
from esms_baseline.lab.paths import cgroup_name, lab_id, resolve_cache_dir


def mem_available_kib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1])
    raise RuntimeError("no MemAvailable in /proc/meminfo")


def pss_kib(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def host_pss_mib(state_dir: Path) -> list[float]:
    """PSS of every process of each host (its nspawn and its container), in MiB."""
    group = cgroup_name(lab_id(state_dir))
    v2 = next(d for d in cgroups.lab_dirs(group) if (d.parent / "cgroup.controllers").exists())
    out = []
    for host_dir in sorted(p for p in v2.iterdir() if p.is_dir()):
        out.append(sum(pss_kib(pid) for pid in cgroups.pids(host_dir)) / 1024)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--count", type=int, action="append", help="host counts (1 5 20)")
    ap.add_argument("--suite", default="bookworm", choices=image.SUITES)
    ap.add_argument("--cached", action="store_true", help="do not time a cold base build")
    ap.add_argument("--settle", type=float, default=5.0, help="seconds to wait before memory")
    args = ap.parse_args()
    counts = args.count or [1, 5, 20]
    if os.geteuid() != 0:
        print("run as root", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="esms-lab-bench-", dir="/var/tmp"))
    rows: list[tuple[str, str, str, str, str]] = []
    try:
        if args.cached:
            cache = resolve_cache_dir()
            build_s = "cached"
        else:
            cache = work / "cache"
            t0 = time.monotonic()
            image.ensure_base(cache, args.suite, False)
            build_s = f"{time.monotonic() - t0:.1f}"
        os.environ["ESMS_LAB_CACHE"] = str(cache)
        base = image.ensure_base(cache, args.suite, False)
        size = sum(f.stat().st_size for f in base.rglob("*") if f.is_file() and not f.is_symlink())
        print(f"base {base.name}: {size / 2**20:.0f} MiB, build {build_s} s", file=sys.stderr)

        for n in counts:
            sd = work / f"lab-{n}"
            before = mem_available_kib()
            t0 = time.monotonic()
            lab.up(n, suite=args.suite, state_dir=sd, fresh=True)
            boot = time.monotonic() - t0
            time.sleep(args.settle)
            used = (before - mem_available_kib()) / 1024
            pss = host_pss_mib(sd)
            states = [h.state for h in lab.status(sd).hosts]
            t0 = time.monotonic()
            lab.down(sd)
            down = time.monotonic() - t0
            rows.append(
                (
                    str(n),
                    f"{boot:.1f}",
                    f"{sum(pss) / n:.1f} (total {sum(pss):.0f})",
                    f"{used / n:.1f} (total {used:.0f})",
                    f"{down:.1f}",
                )
            )
            print(f"N={n}: states {sorted(set(states))}", file=sys.stderr)
    finally:
        for n in counts:
            lab.down(work / f"lab-{n}")
        shutil.rmtree(work, ignore_errors=True)

    head = ("hosts", "boot s", "PSS MiB/host", "MemAvailable drop MiB/host", "down s")
    print(f"base build ({args.suite}, cold): {build_s} s; base size {size / 2**20:.0f} MiB")
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
