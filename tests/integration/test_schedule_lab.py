"""The nightly schedule installed into a real systemd: a lab host (never the control machine).

The units are written into the host's root filesystem (the merged overlay dir) and systemd
is driven inside the host through nsenter; ``esms-baseline`` is replaced there by a stub that
records its arguments and exits with a chosen drift code, to prove the unit's exit-status
semantics (10 = known failures, as the unit asks drift to report them: success; 1 = what
Python exits with when it crashes: the unit fails; 4 = new drift: the unit fails).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from esms_baseline.lab import Lab, nsenter_run
from esms_baseline.schedule import ScheduleSpec, install, installed, remove

pytestmark = [pytest.mark.lab, pytest.mark.slow]

STUB = "/usr/local/bin/esms-baseline-stub"
RAN = "/run/esms-drift-ran"  # not /tmp nor /var/tmp: the unit has PrivateTmp
EXIT_FILE = "/run/esms-drift-exit"


def _runner(lab: Lab, host: str):  # type: ignore[no-untyped-def]
    def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
        return nsenter_run(lab, host, argv, check=False)

    return run


def _sh(lab: Lab, host: str, script: str) -> subprocess.CompletedProcess[str]:
    return nsenter_run(lab, host, ["sh", "-c", script], check=False)


def test_schedule_in_a_lab_host(lab: Lab) -> None:
    host = lab.hosts[0].name
    root = lab.host(host).root
    run = _runner(lab, host)
    stub = root / STUB.lstrip("/")
    stub.parent.mkdir(parents=True, exist_ok=True)
    stub.write_text(f'#!/bin/sh\necho "$@" > {RAN}\nexit "$(cat {EXIT_FILE} 2>/dev/null '
                    f'|| echo 0)"\n', encoding="utf-8")
    stub.chmod(0o755)
    spec = ScheduleSpec(site="EHPAD Lab Schedule", profile=Path("/etc/esms-baseline/site.yml"),
                        at="02:30", command=(STUB,), drift_args=("--lang", "fr"),
                        history=Path("/var/lib/esms-baseline/history.sqlite"))
    try:
        result = install(spec, root=root, runner=run)
        assert result.mode == "systemd" and result.activated
        assert (root / "etc/systemd/system" / spec.timer).is_file()
        assert installed(root) == [spec.timer]

        verify = nsenter_run(lab, host, ["systemd-analyze", "verify",
                                         f"/etc/systemd/system/{spec.service}",
                                         f"/etc/systemd/system/{spec.timer}"], check=False)
        ours = [line for line in (verify.stdout + verify.stderr).splitlines()
                if spec.name in line]
        assert verify.returncode == 0 and not ours, verify.stdout + verify.stderr

        assert run(["systemctl", "is-enabled", spec.timer]).stdout.strip() == "enabled"
        assert run(["systemctl", "is-active", spec.timer]).stdout.strip() == "active"
        timers = run(["systemctl", "list-timers", "--all", "--no-pager"]).stdout
        line = next((x for x in timers.splitlines() if spec.timer in x), "")
        assert "02:30:00" in line, timers  # next elapse: 02:30 local time of the host

        # run it now: exit 10 (failures already known) is a success for systemd ...
        _sh(lab, host, f"echo 10 > {EXIT_FILE}")
        started = run(["systemctl", "start", spec.service])
        assert started.returncode == 0, started.stderr
        assert _sh(lab, host, f"cat {RAN}").stdout.strip() == (
            "drift /etc/esms-baseline/site.yml --known-failures-exit 10 --lang fr")
        result_prop = run(["systemctl", "show", "-p", "Result", "--value", spec.service])
        assert result_prop.stdout.strip() == "success"
        # ... a crash (Python exits 1) is not ...
        _sh(lab, host, f"echo 1 > {EXIT_FILE}")
        assert run(["systemctl", "start", spec.service]).returncode != 0
        assert run(["systemctl", "is-failed", spec.service]).stdout.strip() == "failed"
        run(["systemctl", "reset-failed", spec.service])
        # ... while 4 (NEW drift) fails the unit, for OnFailure= or a monitoring of units
        _sh(lab, host, f"echo 4 > {EXIT_FILE}")
        assert run(["systemctl", "start", spec.service]).returncode != 0
        assert run(["systemctl", "is-failed", spec.service]).stdout.strip() == "failed"
        env = run(["systemctl", "show", "-p", "Environment", "--value", spec.service]).stdout
        assert "ESMS_HISTORY=/var/lib/esms-baseline/history.sqlite" in env

        removed = remove(spec, root=root, runner=run)
        assert {p.name for p in removed} == {spec.timer, spec.service}
        timers = run(["systemctl", "list-timers", "--all", "--no-pager"]).stdout
        assert spec.timer not in timers
        assert run(["systemctl", "is-enabled", spec.timer]).returncode != 0
        assert installed(root) == []
    finally:
        remove(spec, root=root, runner=run)
        _sh(lab, host, f"rm -f {STUB} {RAN} {EXIT_FILE}")
