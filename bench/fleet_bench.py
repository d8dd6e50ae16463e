"""Fleet check against single-site checks and ``ansible -m ping``, on the same lab hosts.

    .venv/bin/python bench/fleet_bench.py --sites 5 --hosts 4      # 20 lab hosts
    .venv/bin/python bench/fleet_bench.py --sites 3 --hosts 2      # a small run

S sites of H hosts each (one profile per site, its hosts inline, the lab's inventory for the
connection), in ONE run, cold each time (fresh SSH control path dir):
  - ``ansible all -m ping`` on all S x H hosts (forks = S x H): the reference;
  - the sum of S single-site ``esms-baseline check site_i.yml`` run one after the other;
  - ``esms-baseline check sites/ --sites-parallel S``: the fleet check (one conformance run
    for all the sites, esms_baseline/fleet_check.py).
For each: wall time, peak RSS of the largest process (``wait4``), and the peak of the summed
RSS of the whole process tree (sampled every 0.1 s from /proc). Ratios to ping. Then the
fleet check once more, its phases timed in one process (imports, validation, plans, the one
pytest run and the facts collection inside it): where its time goes. No timed assertion:
the figures go in docs/fleet.md, with the machine's load at the time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = Path("/var/lib/esms-baseline/lab-bench-fleet")
BIN = Path(sys.executable).parent
PROFILE = """\
schema_version: 1
site: {{name: Site banc {i:02d}, finess: "690009999"}}
inventory:
  hosts:
{hosts}
accounts:
  management_account: esms-admin
firewall:
  management:
    sources: [127.0.0.1/32]
"""


def _tree_rss_kib(root: int) -> int:
    """Summed VmRSS of ``root`` and all its descendants (KiB)."""
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def timed(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    with tempfile.TemporaryFile() as out:
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], _tree_rss_kib(proc.pid))
                done.wait(0.1)

        t = threading.Thread(target=sample, daemon=True)
        t.start()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        t.join()
        wall = time.monotonic() - started
        out.seek(0)
        tail = out.read().decode(errors="replace")[-600:]
    return {"wall_s": wall, "max_process_rss_mib": usage.ru_maxrss / 1024,
            "tree_rss_mib": peak[0] / 1024, "exit": os.waitstatus_to_exitcode(status),
            "tail": tail}


PHASES = """\
import json, sys, time
t0 = time.monotonic()
from pathlib import Path
import esms_baseline.cli, esms_baseline.conformance.runner as runner
from esms_baseline.conformance import fleet_run
from esms_baseline.fleet import validate_profiles
from esms_baseline.plan import build_check_plan, inventories_read_once
t1 = time.monotonic()
suite = {}
real = runner._run_suite
def timed_suite(*a, **kw):
    s = time.monotonic(); out = real(*a, **kw); suite["s"] = time.monotonic() - s; return out
fleet_run._run_suite = timed_suite
profiles, inventory, forks = [Path(p) for p in sys.argv[3:]], Path(sys.argv[1]), int(sys.argv[2])
with inventories_read_once():
    good, bad = validate_profiles(profiles); t2 = time.monotonic()
    plans = [build_check_plan(p, inventory) for p in good.values()]; t3 = time.monotonic()
    res = fleet_run.check_many(plans, forks=forks); t4 = time.monotonic()
d = res[0].details
print(json.dumps({"imports_s": t1 - t0, "validate_s": t2 - t1, "plans_s": t3 - t2,
                  "check_many_s": t4 - t3, "pytest_run_s": suite["s"],
                  "facts_collection_s": d["collect"]["wall_seconds"],
                  "hosts_collected": d["conformance_run"]["hosts"]}))
"""


def phases(profiles: list[Path], inventory: Path, sites: int, env: dict[str, str]
           ) -> dict[str, Any]:
    """Where the fleet check's time goes (same code, timed in one process): imports,
    validation, plans (one ansible-inventory), preparation + the one pytest run, and the
    facts collection inside it."""
    argv = [sys.executable, "-c", PHASES, str(inventory), str(20 * sites),
            *map(str, profiles)]
    started = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    out: dict[str, Any] = {"wall_s": time.monotonic() - started}
    try:
        out.update({k: round(v, 2) if isinstance(v, float) else v
                    for k, v in json.loads(proc.stdout.strip().splitlines()[-1]).items()})
    except (ValueError, IndexError):
        out["error"] = (proc.stdout + proc.stderr)[-600:]
    return out


def bench(sites: int, hosts: int, keep: bool) -> dict[str, Any]:
    from esms_baseline import lab as lab_api

    lab = lab_api.up(sites * hosts, state_dir=STATE_DIR)
    names = [h.name for h in lab.hosts]
    res: dict[str, Any] = {"sites": sites, "hosts_per_site": hosts,
                           "loadavg_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="esms-fleet-bench-") as tmp:
        folder = Path(tmp) / "sites"
        folder.mkdir()
        profiles = []
        for i in range(sites):
            mine = names[i * hosts:(i + 1) * hosts]
            p = folder / f"site-{i:02d}.yml"
            p.write_text(PROFILE.format(i=i, hosts="\n".join(f"    {h}: {{}}" for h in mine)))
            profiles.append(p)

        def env(tag: str) -> dict[str, str]:
            cp = Path(tmp) / f"cp-{tag}"
            cp.mkdir()
            state = Path(tmp) / f"state-{tag}"
            return dict(os.environ, ANSIBLE_SSH_CONTROL_PATH_DIR=str(cp),
                        ESMS_STATE_DIR=str(state), ANSIBLE_HOST_KEY_CHECKING="false",
                        ANSIBLE_STDOUT_CALLBACK="oneline")

        res["ansible ping"] = timed([str(BIN / "ansible"), "all", "-i", str(lab.inventory_path),
                                     "-m", "ping", "-f", str(len(names))], env("ping"))
        singles = []
        for i, p in enumerate(profiles):
            singles.append(timed([str(BIN / "esms-baseline"), "check", str(p), "-i",
                                  str(lab.inventory_path), "--no-history"], env(f"one-{i}")))
        res["sum of single-site checks"] = {
            "wall_s": sum(s["wall_s"] for s in singles),
            "max_process_rss_mib": max(s["max_process_rss_mib"] for s in singles),
            "tree_rss_mib": max(s["tree_rss_mib"] for s in singles),
            "exit": sorted({s["exit"] for s in singles}), "tail": singles[-1]["tail"]}
        res["fleet check"] = timed([str(BIN / "esms-baseline"), "check", str(folder), "-i",
                                    str(lab.inventory_path), "--sites-parallel", str(sites),
                                    "--no-history"], env("fleet"))
        res["fleet phases"] = phases(profiles, lab.inventory_path, sites, env("phases"))
    res["loadavg_after"] = os.getloadavg()
    ping = res["ansible ping"]["wall_s"]
    for k in ("sum of single-site checks", "fleet check"):
        res[k]["ratio_to_ping"] = round(res[k]["wall_s"] / ping, 2)
    if not keep:
        lab_api.down(STATE_DIR)
    return res


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sites", type=int, default=5)
    p.add_argument("--hosts", type=int, default=4, help="hosts per site")
    p.add_argument("--keep", action="store_true", help="leave the lab up")
    args = p.parse_args()
    try:
        r = bench(args.sites, args.hosts, keep=args.keep)
    finally:
        if not args.keep:
            from esms_baseline import lab as lab_api

            lab_api.down(STATE_DIR)
    print(f"{args.sites} sites x {args.hosts} hosts; load average before "
          f"{r['loadavg_before'][0]:.1f}, after {r['loadavg_after'][0]:.1f} (2 cores, shared)")
    for k in ("ansible ping", "sum of single-site checks", "fleet check"):
        v = r[k]
        ratio = f"  x{v['ratio_to_ping']} ping" if "ratio_to_ping" in v else ""
        print(f"  {k:<26} {v['wall_s']:7.2f} s  largest process {v['max_process_rss_mib']:6.0f} "
              f"MiB  tree {v['tree_rss_mib']:6.0f} MiB  exit {v['exit']}{ratio}")
    print(f"  fleet check phases (in one process, again): {r['fleet phases']}")
    print(json.dumps({k: ({kk: vv for kk, vv in v.items() if kk != "tail"}
                          if isinstance(v, dict) else v) for k, v in r.items()}),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
