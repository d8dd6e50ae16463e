"""The profile as an inventory source and the remote worker, for real on one lab host:

1. ``ansible-playbook -i <esms_site source> playbooks/site.yml`` (no esms-baseline CLI)
   applies the baseline; the initial password comes from the environment at run time and
   never appears in the inventory;
2. AWX's path: ``ansible-inventory --list --export`` once, then a job on the exported data
   only (a script inventory, as AWX writes it): the plugin is not re-run and nothing changes;
3. the remote worker (ansible-runner transmit | ssh worker | process): a compliant dry run
   succeeds, a failing run makes the CLI exit non-zero, the worker keeps nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from esms_baseline.lab import Lab, nsenter_run
from tests.conftest import random_secrets_in_env, running_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HOST = "lab-01"
PROFILE = """\
schema_version: 1
site: {name: Site Labo Inventaire, finess: "690009999"}
inventory:
  hosts:
    lab-01: {groups: [postes]}
  groups:
    postes: {description: Postes}
accounts:
  management_account: esms-admin
  admins: [aduval]
  users:
    - login: aduval
      full_name: Alice Duval
      role: Infirmière
      initial_password: {env: ESMS_PW_ADUVAL}
firewall:
  management:
    sources: [127.0.0.1/32]
antivirus:
  enabled: false
"""
#: A few controls, for the reruns: accounts (with the secret), session lock, passwords.
QUICK_TAGS = "ESMS-ACC-01,ESMS-LOCK-01,ESMS-PWD-01"


@pytest.fixture(scope="module")
def one_host() -> Iterator[Lab]:
    with running_lab("h7inv", 1) as lab:
        yield lab


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, one_host: Lab) -> Path:
    d = tmp_path_factory.mktemp("site")
    (d / "site.yml").write_text(PROFILE)
    (d / "site.inventory.yml").write_text(
        f"plugin: esms_site\nprofile: site.yml\nconnection_inventory: {one_host.inventory_path}\n")
    return d


@pytest.fixture(scope="module")
def password() -> Iterator[str]:
    with random_secrets_in_env(["ESMS_PW_ADUVAL"]) as values:
        yield values["ESMS_PW_ADUVAL"]


def playbook(inventory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory),
                           "playbooks/site.yml", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=1200, check=False,
                          env={**os.environ, "ANSIBLE_NOCOLOR": "1"})


def recap(out: str) -> dict[str, int]:
    m = re.search(rf"^{HOST}\s+:\s+(.*)$", out, re.MULTILINE)
    assert m, out[-3000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))}


def password_matches(lab: Lab, login: str, value: str) -> bool:
    r = nsenter_run(lab, HOST, ["python3", "-W", "ignore", "-c",
                                ("import crypt, spwd, sys; h = spwd.getspnam(sys.argv[1]).sp_pwdp;"
                                "print(crypt.crypt(sys.argv[2], h) == h)"), login, value])
    return r.stdout.strip() == "True"


def test_ansible_playbook_with_the_profile_as_inventory(one_host: Lab, site: Path,
                                                        password: str) -> None:
    inv = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(site / "site.inventory.yml"),
                          "--list"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert password not in inv.stdout and "ESMS_PW_ADUVAL" in inv.stdout
    proc = playbook(site / "site.inventory.yml")
    assert proc.returncode == 0, proc.stdout[-4000:]
    r = recap(proc.stdout)
    assert r["failed"] == 0 and r["unreachable"] == 0 and r["changed"] > 0
    assert password not in proc.stdout + proc.stderr
    assert password_matches(one_host, "aduval", password)


def test_awx_export_then_job_without_the_plugin(one_host: Lab, site: Path, password: str,
                                                tmp_path: Path) -> None:
    """AWX imports ``ansible-inventory --list --export`` into its database and gives jobs a
    script inventory of the stored data: everything must be in the exported variables."""
    exported = subprocess.run(
        [str(BIN / "ansible-inventory"), "--list", "--export", "-i",
         str(site / "site.inventory.yml"), "--playbook-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, check=True,
        env={**os.environ, "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True"})
    data = json.loads(exported.stdout)
    assert password not in exported.stdout
    script = tmp_path / "awx_inventory.py"
    script.write_text("#!/usr/bin/env python3\nimport json, sys\n"
                      f"DATA = json.loads({json.dumps(json.dumps(data))})\n"
                      "print(json.dumps(DATA if '--list' in sys.argv else {}))\n")
    script.chmod(0o700)
    proc = playbook(script, "--tags", QUICK_TAGS)
    assert proc.returncode == 0, proc.stdout[-4000:]
    r = recap(proc.stdout)
    assert r["failed"] == 0 and r["changed"] == 0, proc.stdout[-4000:]
    assert password_matches(one_host, "aduval", password)


def record_site_keys(lab: Lab) -> Path:
    """The host's real keys (read from its own disk by `lab up`), recorded for the site
    under its inventory name, as `esms-baseline trust` records them."""
    from esms_baseline.hostkeys import site_known_hosts
    from esms_baseline.lab.sshconf import KNOWN_HOSTS_DIR

    known = site_known_hosts("Site Labo Inventaire")
    real = (lab.state_dir / KNOWN_HOSTS_DIR / HOST).read_text().split("\n")
    known.write_text("".join(f"{HOST} {' '.join(ln.split()[1:3])}\n" for ln in real if ln))
    return known


def test_remote_worker(one_host: Lab, site: Path, password: str, tmp_path: Path) -> None:
    from esms_baseline.hostkeys import site_known_hosts
    from tests.integration.worker import HOME, running_worker, skip_reason

    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    with running_worker(one_host, [HOST], tmp_path) as w:
        # the worker cannot read the controller's folders
        from tests.integration.worker import as_worker

        for path in (one_host.private_key, os.environ["ESMS_STATE_DIR"]):
            assert as_worker("test", "-r", str(path), check=False).returncode != 0, path
        base = [sys.executable, "-m", "esms_baseline.cli", "apply", str(site / "site.yml"),
                "--worker", w.worker.destination, "--worker-port", str(w.worker.port),
                "--worker-known-hosts", str(w.worker.known_hosts),
                "--worker-identity", str(w.worker.identity_file),
                "--worker-venv", str(w.worker.venv),
                "--worker-inventory", str(w.connection_inventory),
                "--worker-host-key", str(w.key), "--controls", QUICK_TAGS]
        # no key known for the host: it gets nothing (no job is even sent), exit 3
        site_known_hosts("Site Labo Inventaire").unlink(missing_ok=True)
        unknown = subprocess.run([*base, "--check"], capture_output=True, text=True, cwd=ROOT,
                                 timeout=900, check=False)
        assert unknown.returncode == 3, unknown.stdout[-3000:] + unknown.stderr[-3000:]
        assert "not known yet" in unknown.stderr, unknown.stderr[-3000:]
        known = record_site_keys(one_host)
        ok = subprocess.run([*base, "--check"], capture_output=True, text=True, cwd=ROOT,
                            timeout=900, check=False)
        assert ok.returncode == 0, ok.stdout[-3000:] + ok.stderr[-3000:]
        assert "0 task(s) would change; status successful" in ok.stdout, ok.stdout
        assert password not in ok.stdout + ok.stderr
        # failing run: the profile's management account is not the one that connects, so
        # the pre-flight stops the host (nothing changed), and the CLI must say so
        bad = site / "bad.yml"
        bad.write_text(PROFILE.replace("management_account: esms-admin",
                                       "management_account: quelquun"))
        failed = subprocess.run([*base[:4], str(bad), *base[5:]], capture_output=True,
                                text=True, cwd=ROOT, timeout=900, check=False)
        assert failed.returncode == 1, failed.stdout[-3000:] + failed.stderr[-3000:]
        assert "Preflight" in failed.stderr and "status failed" in failed.stdout
        # the worker keeps nothing of the jobs: no job folder, no key, no secret, no process
        # but its sshd (the job's ssh-agent notices its job is gone within 10 s)
        deadline = time.monotonic() + 30
        while True:
            left = subprocess.run(["find", "/tmp", "/var/tmp", "/dev/shm", "-user", "esmsworker"],
                                  capture_output=True, text=True, check=False).stdout.split()
            procs = subprocess.run(["ps", "-u", "esmsworker", "-o", "args="], capture_output=True,
                                   text=True, check=False).stdout.splitlines()
            procs = [p for p in procs if "sshd" not in p]
            if (not left and not procs) or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert left == [] and procs == [], (left, procs)
        grep = subprocess.run(["grep", "-rlF", password, str(HOME)], capture_output=True,
                              text=True, check=False)
        assert grep.stdout == "", grep.stdout
        # the key-specific part (the first base64 line is the same for every ed25519 key)
        key_text = "".join(one_host.private_key.read_text().splitlines()[1:-1])[80:140]
        assert len(key_text) == 60
        found = [p for p in HOME.rglob("*") if p.is_file() and not p.is_symlink()
                 and key_text in "".join(p.read_text(errors="replace").split())]
        assert found == [], found
    known.unlink()


def _verdicts(stdout: str) -> dict[tuple[str, str], str]:
    doc = json.loads(stdout)
    return {(r["host"], r["control"]): r["verdict"] for r in doc["results"]}


def test_check_through_worker(one_host: Lab, site: Path, tmp_path: Path) -> None:
    """check --worker: the collector runs on the hosts from the worker (the controller's
    own inventory for the site cannot reach them), the rules run here; same verdicts as a
    local check, a broken control fails (exit 1), an unknown host key or a lost host is
    unreachable (exit 3), an unreachable worker is a clear error (exit 3), the host is
    unchanged and the worker keeps nothing."""
    from esms_baseline.hostkeys import site_known_hosts
    from tests.integration.conftest import host_state
    from tests.integration.worker import HOME, as_worker, running_worker, skip_reason

    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    cli = [sys.executable, "-m", "esms_baseline.cli", "check", str(site / "site.yml"), "--json"]
    local = subprocess.run([*cli, "-i", str(one_host.inventory_path), "--no-history"],
                           capture_output=True, text=True, cwd=ROOT, timeout=600, check=False)
    assert local.returncode in (0, 1), local.stderr[-3000:]
    expected = _verdicts(local.stdout)
    known = site_known_hosts("Site Labo Inventaire")
    known.unlink(missing_ok=True)
    history = tmp_path / "history.sqlite"
    with running_worker(one_host, [HOST], tmp_path) as w:
        # no -i: the controller's inventory for the site names no way to reach lab-01
        base = [*cli, "--history", str(history),
                "--worker", w.worker.destination, "--worker-port", str(w.worker.port),
                "--worker-known-hosts", str(w.worker.known_hosts),
                "--worker-identity", str(w.worker.identity_file),
                "--worker-venv", str(w.worker.venv),
                "--worker-inventory", str(w.connection_inventory),
                "--worker-host-key", str(w.key)]

        def run(*extra: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([*base, *extra], capture_output=True, text=True, cwd=ROOT,
                                  timeout=600, check=False)

        # host key not known to the site yet: nothing is run on the host, unreachable
        unknown = run("--no-history")
        assert unknown.returncode == 3, unknown.stderr[-3000:]
        rows = [r for r in json.loads(unknown.stdout)["results"] if r["host"] == HOST]
        assert rows and all(r["verdict"] == "unreachable" and "not known yet" in r["message"]
                            for r in rows), rows[:2]
        # a wrong key recorded: the worker's ssh refuses the host (the key is checked there)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                        str(tmp_path / "not_the_host")], check=True)
        other = (tmp_path / "not_the_host.pub").read_text().split()
        known.write_text(f"{HOST} {other[0]} {other[1]}\n")
        wrong = run("--no-history")
        assert wrong.returncode == 3, wrong.stderr[-3000:]
        rows = [r for r in json.loads(wrong.stdout)["results"] if r["host"] == HOST]
        assert rows and all(r["verdict"] == "unreachable" for r in rows), rows[:2]
        record_site_keys(one_host)
        before = host_state(one_host, HOST)
        same = run()
        assert host_state(one_host, HOST) == before, "the check through the worker changed the host"
        assert same.returncode == local.returncode, same.stdout[-3000:] + same.stderr[-3000:]
        got = _verdicts(same.stdout)
        assert got == expected
        assert sum(v == "pass" for v in got.values()) >= 10, got
        assert f"check through the worker {w.worker.destination}" in same.stderr
        # recorded like a local check
        from esms_baseline.history import History

        with History(history) as h:
            runs = h.runs("Site Labo Inventaire")
            assert [r.exit_code for r in runs] == [same.returncode], runs
        # drift through the worker: recorded, compared with that run, nothing new
        drift = subprocess.run([*base[:3], "drift", *base[4:]], capture_output=True, text=True,
                               cwd=ROOT, timeout=600, check=False)
        assert drift.returncode == local.returncode, drift.stdout[-2000:] + drift.stderr[-2000:]
        with History(history) as h:
            assert len(h.runs("Site Labo Inventaire")) == 2
        # a control that passes here, broken on the host: a failure, exit 1
        passing = sorted(c for (host, c), v in got.items() if host == HOST and v == "pass")
        assert "ESMS-PWD-01" in passing, got
        conf = "/etc/security/pwquality.conf"
        nsenter_run(one_host, HOST, ["cp", "-p", conf, "/root/pwquality.conf.esms-test"])
        nsenter_run(one_host, HOST, ["sh", "-c", f"echo 'minlen = 4' >> {conf}"])
        try:
            broken = run("--controls", ",".join(passing), "--no-history")
        finally:
            nsenter_run(one_host, HOST, ["mv", "/root/pwquality.conf.esms-test", conf])
        assert broken.returncode == 1, broken.stdout[-3000:] + broken.stderr[-3000:]
        bad = _verdicts(broken.stdout)
        assert bad[(HOST, "ESMS-PWD-01")] == "fail"
        assert [k for k, v in bad.items() if v != "pass"] == [(HOST, "ESMS-PWD-01")], bad
        # the host cannot be reached from the worker any more: unreachable, exit 3
        for p in w.relays:
            p.terminate()
            p.wait(timeout=10)
        lost = run("--controls", ",".join(passing), "--no-history")
        assert lost.returncode == 3, lost.stderr[-3000:]
        assert {v for (h, _), v in _verdicts(lost.stdout).items() if h == HOST} == {"unreachable"}
        # the worker cannot be reached: a clear error, exit 3
        port_at = base.index("--worker-port") + 1
        down = subprocess.run([*base[:port_at], "1", *base[port_at + 1:]], capture_output=True,
                              text=True, cwd=ROOT, timeout=120, check=False)
        assert down.returncode == 3 and "ssh to the worker" in down.stderr, down.stderr[-2000:]
        # the worker keeps nothing of the jobs
        deadline = time.monotonic() + 30
        while True:
            left = subprocess.run(["find", "/tmp", "/var/tmp", "/dev/shm", "-user", "esmsworker"],
                                  capture_output=True, text=True, check=False).stdout.split()
            procs = subprocess.run(["ps", "-u", "esmsworker", "-o", "args="], capture_output=True,
                                   text=True, check=False).stdout.splitlines()
            procs = [p for p in procs if "sshd" not in p]
            if (not left and not procs) or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert left == [] and procs == [], (left, procs)
        kept = as_worker("find", str(HOME), "-newer", str(w.worker.known_hosts), "-type", "f",
                         "-not", "-path", f"{HOME}/venv/*", "-not", "-path", f"{HOME}/sshd/*",
                         check=False).stdout.decode()
        assert kept == "", kept
    known.unlink(missing_ok=True)
