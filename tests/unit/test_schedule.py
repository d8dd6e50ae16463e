"""The nightly schedule: units, cron line, install/remove into a root dir with a fake runner.
(The units are installed into a real systemd by tests/integration/test_schedule_lab.py.)"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from esms_baseline.schedule import (
    ScheduleError,
    ScheduleSpec,
    cron_line,
    install,
    installed,
    parse_at,
    remove,
    render_units,
    slug,
)

ROOT = Path(__file__).resolve().parents[2]


def spec(**kw: object) -> ScheduleSpec:
    base: dict[str, object] = {
        "site": "EHPAD Les Tilleuls", "profile": Path("/etc/esms sites/tilleuls.yml"), "at": "2:30",
        "command": ("/opt/esms/bin/python", "-m", "esms_baseline"),
        "drift_args": ("--webhook", "http://127.0.0.1:9/h?x=50%"),
        "history": Path("/var/lib/esms-baseline/history.sqlite")}
    base.update(kw)
    return ScheduleSpec(**base)  # type: ignore[arg-type]


class FakeRunner:
    def __init__(self, systemd: bool = True) -> None:
        self.calls: list[list[str]] = []
        self.systemd = systemd

    def __call__(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        self.calls.append(argv)
        code = 0 if (argv[0] != "test" or self.systemd) else 1
        return subprocess.CompletedProcess(argv, code, "", "")


def test_units() -> None:
    s = spec()
    units = render_units(s)
    assert set(units) == {"esms-baseline-drift-ehpad-les-tilleuls.service",
                          "esms-baseline-drift-ehpad-les-tilleuls.timer"}
    service, timer = units[s.service], units[s.timer]
    assert ('ExecStart=/opt/esms/bin/python -m esms_baseline drift '
            '"/etc/esms sites/tilleuls.yml" --known-failures-exit 10 '
            '--webhook http://127.0.0.1:9/h?x=50%%') in service
    assert "Environment=ESMS_HISTORY=/var/lib/esms-baseline/history.sqlite" in service
    assert "Type=oneshot" in service
    # the only non-zero success is "known failures" as the unit asks drift to report it;
    # 1 (what Python exits with when it crashes) is not a success
    success = [ln for ln in service.splitlines() if ln.startswith("SuccessExitStatus=")]
    assert success == ["SuccessExitStatus=10"]
    assert "EnvironmentFile=-/etc/esms-baseline/notify.env" in service
    assert "OnCalendar=*-*-* 02:30:00" in timer and "Persistent=true" in timer
    assert f"Unit={s.service}" in timer and "WantedBy=timers.target" in timer


def test_cron_line() -> None:
    line = cron_line(spec(at="23:05"))
    assert line.startswith("5 23 * * * . /etc/esms-baseline/notify.env 2>/dev/null; "
                           "ESMS_HISTORY=/var/lib/esms-baseline/history.sqlite ")
    assert "'/etc/esms sites/tilleuls.yml'" in line and "x=50\\%" in line


def test_parse_at_and_slug() -> None:
    assert parse_at("02:30") == (2, 30) and parse_at("9:05") == (9, 5)
    for bad in ("24:00", "2h30", "", "12:60"):
        with pytest.raises(ScheduleError):
            parse_at(bad)
    assert slug("Résidence « Les Églantiers » / Site 2") == "residence-les-eglantiers-site-2"


def test_install_and_remove_with_runner(tmp_path: Path) -> None:
    run = FakeRunner()
    s = spec()
    result = install(s, root=tmp_path, runner=run)
    assert result.mode == "systemd" and result.activated
    unit_dir = tmp_path / "etc/systemd/system"
    assert sorted(p.name for p in result.files) == sorted(render_units(s))
    assert (unit_dir / s.timer).read_text(encoding="utf-8") == render_units(s)[s.timer]
    assert ["systemctl", "daemon-reload"] in run.calls
    assert ["systemctl", "enable", "--now", s.timer] in run.calls
    assert installed(tmp_path) == [s.timer]
    removed = remove(s, root=tmp_path, runner=run)
    assert {p.name for p in removed} == {s.timer, s.service}
    assert ["systemctl", "disable", "--now", s.timer] in run.calls
    assert run.calls[-2:][0] == ["systemctl", "daemon-reload"]
    assert installed(tmp_path) == [] and remove(s, root=tmp_path, runner=run) == ()


def test_install_offline_into_a_root(tmp_path: Path) -> None:
    s = spec()
    result = install(s, root=tmp_path, systemd=True)
    assert result.mode == "systemd" and not result.activated
    link = tmp_path / "etc/systemd/system/timers.target.wants" / s.timer
    assert link.is_symlink() and str(link.readlink()) == f"/etc/systemd/system/{s.timer}"
    remove(s.name, root=tmp_path)
    assert not link.is_symlink() and installed(tmp_path) == []


def test_without_systemd_gives_the_cron_line(tmp_path: Path) -> None:
    run = FakeRunner(systemd=False)
    result = install(spec(), root=tmp_path, runner=run)
    assert result.mode == "cron" and result.cron_line == cron_line(spec())
    assert not (tmp_path / "etc").exists()
    assert install(spec(), root=tmp_path).mode == "cron"  # no /run/systemd/system there


def test_failing_systemctl_is_an_error(tmp_path: Path) -> None:
    def broken(argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(argv, 1, "", "Failed to connect to bus")

    with pytest.raises(ScheduleError, match="Failed to connect to bus"):
        install(spec(), root=tmp_path, runner=broken, systemd=True)


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    exe = tmp_path / "esms-baseline"
    exe.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    exe.chmod(0o755)
    s = spec(command=(str(exe),))
    for name, text in render_units(s).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    proc = subprocess.run(["systemd-analyze", "verify", str(tmp_path / s.timer),
                           str(tmp_path / s.service)], capture_output=True, text=True,
                          check=False, timeout=60)
    ours = [line for line in (proc.stdout + proc.stderr).splitlines() if s.name in line]
    assert not ours, ours


def test_cli_dry_run_and_cron(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from esms_baseline.cli import main

    profile = str(ROOT / "examples" / "site.yml")
    assert main(["schedule", "install", profile, "--at", "03:15", "--dry-run",
                 "--history", str(tmp_path / "h.sqlite")]) == 0
    out = capsys.readouterr().out
    assert "OnCalendar=*-*-* 03:15:00" in out and f"drift {profile}" in out
    assert main(["schedule", "install", profile, "--at", "03:15", "--cron"]) == 0
    assert capsys.readouterr().out.startswith("15 3 * * * ")
    assert main(["schedule", "install", profile, "--at", "25:00"]) == 2
    assert main(["schedule", "install", profile, "--root", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("30 2 * * * ")  # no systemd there: cron line
    assert not (tmp_path / "etc").exists()
    assert main(["schedule", "remove", profile, "--root", str(tmp_path)]) == 0
