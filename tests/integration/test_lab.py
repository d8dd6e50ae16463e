"""Lab hosts for real: boot, Ansible over the inventory, testinfra over the ssh_config,
network isolation of a host's firewall, clean teardown. Needs root (skipped otherwise)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import testinfra

from esms_baseline import lab as lab_api
from esms_baseline.lab import Lab, cgroups
from esms_baseline.lab.paths import cgroup_name, lab_id
from esms_baseline.lab.preflight import missing_requirements
from tests.conftest import new_lab_state_dir, teardown_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

HOSTS = [f"lab-{i:02d}" for i in range(1, int(os.environ.get("ESMS_TEST_LAB_HOSTS", "3")) + 1)]
BIN = Path(sys.executable).parent


def ssh(lab: Lab, host: str, command: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """One SSH round trip with no ControlMaster (so nothing cached hides a failure)."""
    argv = [
        "ssh",
        "-F",
        str(lab.ssh_config_path),
        "-o",
        "ControlMaster=no",
        "-o",
        "ControlPath=none",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=5",
        host,
        command,
    ]
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(argv, 255, "", "timed out")


def control_ruleset() -> str:
    return subprocess.run(
        ["nft", "list", "ruleset"], capture_output=True, text=True, check=True
    ).stdout


def nspawns_of(state_dir: Path) -> list[str]:
    out = subprocess.run(
        ["pgrep", "-af", "systemd-nspawn"], capture_output=True, text=True, check=False
    ).stdout
    return [line for line in out.splitlines() if str(state_dir) in line]


def overlay_mounts_of(state_dir: Path) -> list[str]:
    lines = Path("/proc/mounts").read_text().splitlines()
    return [m for m in lines if m.startswith("overlay ") and str(state_dir) in m]


def test_lab_up_reports_every_host_running(lab: Lab) -> None:
    assert [h.name for h in lab.hosts] == HOSTS
    now = lab_api.status(lab.state_dir)
    assert [h.name for h in now.hosts] == HOSTS
    for h in now.hosts:
        assert h.state in ("running", "degraded"), (h.name, h.state)
        assert h.leader_pid and Path(f"/proc/{h.leader_pid}/comm").read_text().strip() == "systemd"
    assert lab.private_key.stat().st_mode & 0o777 == 0o600
    assert lab.inventory_path.is_file() and lab.ssh_config_path.is_file()


def test_lab_up_again_keeps_running_hosts(lab: Lab) -> None:
    again = lab_api.up(len(HOSTS), state_dir=lab.state_dir)
    assert [h.leader_pid for h in again.hosts] == [h.leader_pid for h in lab.hosts]


def test_ansible_ping_over_the_inventory(lab: Lab) -> None:
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    proc = subprocess.run(
        [str(BIN / "ansible"), "-i", str(lab.inventory_path), "all", "-m", "ping", "-o"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ok = sorted(re.findall(r"^(lab-\d\d) \| SUCCESS", proc.stdout, re.MULTILINE))
    assert ok == HOSTS, proc.stdout


def test_ansible_becomes_root_as_the_management_user(lab: Lab) -> None:
    proc = subprocess.run(
        [
            str(BIN / "ansible"),
            "-i",
            str(lab.inventory_path),
            HOSTS[0],
            "-m",
            "command",
            "-a",
            "id -un",
            "-o",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "(stdout) root" in proc.stdout


@pytest.mark.parametrize("name", HOSTS)
def test_testinfra_reads_each_hosts_hostname(lab: Lab, name: str) -> None:
    spec = next(s for s in lab.testinfra_hosts() if s.startswith(f"ssh://{name}?"))
    host = testinfra.get_host(spec)
    assert host.check_output("hostname") == name
    assert host.check_output("id -un") == "root"  # sudo=true in the spec
    assert host.user().name == "root"
    assert host.user("esms-admin").exists


def test_hosts_have_distinct_identities(lab: Lab) -> None:
    ids = {lab_api.nsenter_run(lab, n, ["cat", "/etc/machine-id"]).stdout.strip() for n in HOSTS}
    keys = {
        lab_api.nsenter_run(lab, n, ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"]).stdout.split()[1]
        for n in HOSTS
    }
    assert len(ids) == len(HOSTS) and all(len(i) == 32 for i in ids)
    assert len(keys) == len(HOSTS)


def test_management_account(lab: Lab) -> None:
    name = HOSTS[0]
    shadow = lab_api.nsenter_run(lab, name, ["getent", "shadow", "esms-admin"]).stdout
    assert shadow.split(":")[1].startswith("!")  # password locked: key-only
    assert lab_api.nsenter_run(lab, name, ["visudo", "-cf", "/etc/sudoers.d/esms-admin"])
    proc = ssh(lab, name, "sudo -n true && echo ok")
    assert proc.stdout.strip() == "ok", proc.stderr


def test_hosts_have_no_network_but_loopback(lab: Lab) -> None:
    for name in HOSTS:
        out = lab_api.nsenter_run(lab, name, ["ip", "-o", "link", "show"]).stdout
        links = [line.split(":")[1].strip() for line in out.splitlines()]
        assert links == ["lo"], (name, links)


def test_firewall_inside_one_host_stays_in_that_host(lab: Lab) -> None:
    if len(HOSTS) < 2:
        pytest.skip("needs at least 2 hosts")
    victim, others = HOSTS[0], HOSTS[1:]
    before = control_ruleset()
    # Drop everything inbound on the victim, loopback included (SSH arrives on lo); the
    # test itself only needs nsenter, which uses no network, to undo it.
    ruleset = (
        "table inet esms_lab_test {\n"
        "  chain input { type filter hook input priority 0; policy drop; }\n"
        "}\n"
    )
    subprocess.run(
        ["ssh", "-F", str(lab.ssh_config_path), "-O", "exit", victim],
        capture_output=True,
        timeout=10,
        check=False,
    )
    proc = subprocess.run(
        ["nsenter", "-a", "-t", str(lab.host(victim).leader_pid), "nft", "-f", "-"],
        input=ruleset,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    try:
        assert (
            "esms_lab_test" in lab_api.nsenter_run(lab, victim, ["nft", "list", "ruleset"]).stdout
        )
        assert control_ruleset() == before
        assert ssh(lab, victim, "true", timeout=20).returncode != 0  # the rules bite there
        for name in others:
            assert ssh(lab, name, "hostname").stdout.strip() == name
            assert (
                "esms_lab_test"
                not in lab_api.nsenter_run(lab, name, ["nft", "list", "ruleset"]).stdout
            )
    finally:
        lab_api.nsenter_run(lab, victim, ["nft", "delete", "table", "inet", "esms_lab_test"])
    assert ssh(lab, victim, "hostname").stdout.strip() == victim
    assert control_ruleset() == before


def test_second_lab_runs_beside_and_down_leaves_nothing(lab: Lab) -> None:
    """Another lab (own state dir) comes up beside the session's, survives a crash of its
    nspawn, goes down leaving no process, mount or cgroup, and the first lab is untouched."""
    if missing_requirements():
        pytest.skip("lab tests need: " + "; ".join(missing_requirements()))
    sd = new_lab_state_dir("second")
    try:
        other = lab_api.up(2, state_dir=sd)
        assert [h.name for h in other.hosts] == ["lab-01", "lab-02"]
        assert ssh(other, "lab-01", "hostname").stdout.strip() == "lab-01"
        # its lab-01 is not the session's lab-01
        assert other.host("lab-01").leader_pid != lab.host("lab-01").leader_pid
        # crash: kill one nspawn outright; `up` again cleans up and works
        pid = next(int(line.split()[0]) for line in nspawns_of(sd))
        os.kill(pid, 9)
        deadline = time.monotonic() + 10
        while len(nspawns_of(sd)) > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(nspawns_of(sd)) == 1  # the kill has landed before `up` looks
        again = lab_api.up(2, state_dir=sd)
        states = [(h.name, h.state) for h in lab_api.status(sd).hosts]
        assert all(s in ("running", "degraded") for _n, s in states), states
        assert ssh(again, "lab-02", "hostname").stdout.strip() == "lab-02"
        lab_api.down(sd)
        assert nspawns_of(sd) == []
        assert overlay_mounts_of(sd) == []
        group = cgroup_name(lab_id(sd))
        assert not any(d.exists() for d in cgroups.lab_dirs(group))
        assert lab_api.status(sd).hosts == ()
        # the session lab did not notice
        for name in HOSTS:
            assert ssh(lab, name, "hostname").stdout.strip() == name
    finally:
        teardown_lab(sd)


def test_down_is_a_no_op_without_a_lab(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    lab_api.down(tmp_path / "nothing-here")
    lab_api.down(tmp_path)
