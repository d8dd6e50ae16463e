"""The nightly drift check: a systemd service and timer on the control machine, or a cron line.

:func:`render_units` writes the two units of a :class:`ScheduleSpec`; :func:`install` puts
them under ``<root>/etc/systemd/system`` and, through a *runner* (a function that runs an argv
on the target: ``subprocess`` on this machine by default, ``nsenter`` into a lab host in the
tests), reloads systemd and enables the timer. Where systemd is not running, :func:`install`
writes nothing and returns the crontab line to add instead. :func:`remove` undoes it.

The service runs ``esms-baseline drift <profile> --known-failures-exit 10``: "failures
already known" exits 10 there (1 on the command line), and ``SuccessExitStatus=10`` is the
only non-zero success, so that the unit fails on 3 (incomplete run, or an internal error),
4 (new drift), 2 (usage) and on any crash (Python exits 1 on an uncaught error or a broken
install, a signal kills it): a crash is never counted as a success.
Notification settings (SMTP, webhook; see :mod:`esms_baseline.notify`) are read from the
optional ``/etc/esms-baseline/notify.env``, never written into the unit.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from esms_baseline.errors import EsmsError

Runner = Callable[[list[str]], "subprocess.CompletedProcess[str]"]

UNIT_DIR = Path("etc/systemd/system")
#: The exit status of "failures already known" in the unit (``drift --known-failures-exit``):
#: not 1, which is also what Python exits with when it crashes.
UNIT_KNOWN_FAILURES_EXIT = 10
ENV_FILE = Path("/etc/esms-baseline/notify.env")
UNIT_PREFIX = "esms-baseline-drift-"
_AT_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class ScheduleError(EsmsError):
    """The schedule could not be installed or removed."""


def slug(text: str) -> str:
    """A unit-name-safe slug of a site name ("EHPAD Les Tilleuls" -> "ehpad-les-tilleuls")."""
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    out = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return out or "site"


def parse_at(at: str) -> tuple[int, int]:
    """``"02:30"`` -> (2, 30); :class:`ScheduleError` if it is not a time of day."""
    m = _AT_RE.match(at.strip())
    if not m:
        raise ScheduleError(f"--at must be a time of day HH:MM, not {at!r}")
    return int(m[1]), int(m[2])


def default_command() -> tuple[str, ...]:
    """How the unit starts esms-baseline: this interpreter, ``-m esms_baseline``."""
    return (sys.executable, "-m", "esms_baseline")


@dataclass(frozen=True)
class ScheduleSpec:
    """What to run every night, and when."""

    site: str
    profile: Path
    at: str = "02:30"
    command: tuple[str, ...] = field(default_factory=default_command)
    #: extra arguments of ``drift`` (``--inventory``, ``--limit``, ``--webhook``...)
    drift_args: tuple[str, ...] = ()
    history: Path | None = None
    user: str | None = None
    env_file: Path = ENV_FILE

    @property
    def name(self) -> str:
        return UNIT_PREFIX + slug(self.site)

    @property
    def service(self) -> str:
        return self.name + ".service"

    @property
    def timer(self) -> str:
        return self.name + ".timer"

    @property
    def argv(self) -> list[str]:
        """The drift command (cron: its documented exit statuses, 1 = known failures)."""
        return [*self.command, "drift", str(self.profile), *self.drift_args]

    @property
    def unit_argv(self) -> list[str]:
        """The drift command of the systemd unit: known failures exit 10 (see the module)."""
        return [*self.command, "drift", str(self.profile),
                "--known-failures-exit", str(UNIT_KNOWN_FAILURES_EXIT), *self.drift_args]


def _one_line(text: str, what: str) -> str:
    """``text`` if it holds no control character (a line break would add a directive to the
    unit, e.g. ``ExecStartPre=``), else ScheduleError."""
    for ch in text:
        if ch in "\u2028\u2029" or unicodedata.category(ch) == "Cc":
            raise ScheduleError(f"{what} holds the control character U+{ord(ch):04X}: refused, "
                                "it would change the meaning of the unit")
    return text


def _unit_text(text: str, what: str) -> str:
    """A one-line value of a unit file (Description=): specifiers (%) escaped. A final
    backslash would continue the line onto the next directive (systemd.syntax(7)): refused."""
    if text.endswith("\\"):
        raise ScheduleError(f"{what} ends with a backslash: refused, it would join the next "
                            "line of the unit to it")
    return _one_line(text, what).replace("%", "%%")


def _systemd_word(arg: str, *, variables: bool = True) -> str:
    """One ExecStart word: specifiers (%) and variables ($) escaped, quoted if needed.
    ``variables=False`` for ``Environment=``, where ``$`` has no special meaning
    (systemd.exec(5)): doubling it would change the value."""
    escaped = _one_line(arg, "an argument of the drift command").replace("%", "%%")
    if variables:
        escaped = escaped.replace("$", "$$")
    if escaped and not re.search(r"[\s\"'\\;]", escaped):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_units(spec: ScheduleSpec) -> dict[str, str]:
    """The service and timer files of ``spec``: file name -> content."""
    hour, minute = parse_at(spec.at)
    env = ([f"Environment={_systemd_word(f'ESMS_HISTORY={spec.history}', variables=False)}"]
           if spec.history else [])
    if spec.user and not re.fullmatch(r"[a-z_][a-z0-9_-]{0,31}", spec.user):
        raise ScheduleError(f"not a user name: {spec.user!r}")
    user = [f"User={spec.user}"] if spec.user else []
    service = "\n".join([
        "# Installed by `esms-baseline schedule install`; removed by `schedule remove`.",
        "[Unit]",
        f"Description=esms-baseline nightly drift check of {_unit_text(spec.site, 'the site name')}",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=oneshot",
        *user,
        *env,
        f"EnvironmentFile=-{_unit_text(str(spec.env_file), 'the environment file')}",
        "ExecStart=" + " ".join(_systemd_word(a) for a in spec.unit_argv),
        f"# 0: no failure, {UNIT_KNOWN_FAILURES_EXIT}: failures already known -> success;",
        "# 1 (a crash), 2 (usage), 3 (incomplete, internal error), 4 (NEW drift) -> failed",
        f"SuccessExitStatus={UNIT_KNOWN_FAILURES_EXIT}",
        "TimeoutStartSec=3h",
        "Nice=10",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "",
    ])
    timer = "\n".join([
        "# Installed by `esms-baseline schedule install`; removed by `schedule remove`.",
        "[Unit]",
        f"Description=Nightly esms-baseline drift check of {_unit_text(spec.site, 'the site')} at "
        + f"{hour:02d}:{minute:02d}",
        "",
        "[Timer]",
        f"OnCalendar=*-*-* {hour:02d}:{minute:02d}:00",
        "Persistent=true",
        "AccuracySec=1min",
        f"Unit={spec.service}",
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ])
    return {spec.service: service, spec.timer: timer}


def cron_line(spec: ScheduleSpec) -> str:
    """The crontab line (for a system without systemd) equivalent to the timer."""
    hour, minute = parse_at(spec.at)
    env = (f"ESMS_HISTORY={shlex.quote(_one_line(str(spec.history), 'the history path'))} "
           .replace("%", "\\%") if spec.history else "")
    source = (f". {shlex.quote(_one_line(str(spec.env_file), 'the environment file'))} 2>/dev/null; "
              .replace("%", "\\%") if spec.env_file else "")
    cmd = " ".join(shlex.quote(_one_line(a, "an argument of the drift command"))
                   for a in spec.argv).replace("%", "\\%")
    return f"{minute} {hour} * * * {source}{env}{cmd}"


@dataclass(frozen=True)
class InstallResult:
    mode: str  # "systemd" or "cron"
    files: tuple[Path, ...] = ()
    activated: bool = False
    cron_line: str | None = None


def local_runner(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)


def _run(runner: Runner, argv: list[str], *, check: bool = True) -> None:
    proc = runner(argv)
    if check and proc.returncode != 0:
        raise ScheduleError(f"{' '.join(argv)} failed (exit {proc.returncode}): "
                            f"{(proc.stderr or proc.stdout or '').strip()}")


def has_systemd(root: Path = Path("/"), runner: Runner | None = None) -> bool:
    """Whether systemd runs the target (asked through ``runner`` when given)."""
    if runner is not None:
        return runner(["test", "-d", "/run/systemd/system"]).returncode == 0
    return (root / "run/systemd/system").is_dir()


def _pick_runner(root: Path, runner: Runner | None) -> Runner | None:
    if runner is not None:
        return runner
    return local_runner if root.resolve() == Path("/") else None


def install(
    spec: ScheduleSpec,
    *,
    root: Path = Path("/"),
    runner: Runner | None = None,
    systemd: bool | None = None,
) -> InstallResult:
    """Install the service and timer of ``spec`` under ``root`` and enable the timer.

    ``runner`` runs commands on the target (default: on this machine when ``root`` is ``/``;
    with another root and no runner the units are written and enabled offline, by the
    ``timers.target.wants`` link, but not started). ``systemd``: force the mode (None:
    detect). Without systemd nothing is written: the result carries the cron line.
    """
    parse_at(spec.at)
    run = _pick_runner(root, runner)
    if systemd is None:
        systemd = has_systemd(root, runner)
    if not systemd:
        return InstallResult(mode="cron", cron_line=cron_line(spec))
    unit_dir = root / UNIT_DIR
    try:
        unit_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for name, text in render_units(spec).items():
            path = unit_dir / name
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.chmod(0o644)
            tmp.replace(path)
            written.append(path)
        if run is None:
            wants = unit_dir / "timers.target.wants"
            wants.mkdir(exist_ok=True)
            link = wants / spec.timer
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(Path("/") / UNIT_DIR / spec.timer)
    except OSError as exc:
        raise ScheduleError(f"cannot write the units into {unit_dir}: {exc}") from exc
    if run is not None:
        _run(run, ["systemctl", "daemon-reload"])
        _run(run, ["systemctl", "enable", "--now", spec.timer])
    return InstallResult(mode="systemd", files=tuple(written), activated=run is not None)


def installed(root: Path = Path("/")) -> list[str]:
    """Names of the drift timers installed under ``root``."""
    unit_dir = root / UNIT_DIR
    if not unit_dir.is_dir():
        return []
    return sorted(p.name for p in unit_dir.glob(f"{UNIT_PREFIX}*.timer"))


def remove(
    spec_or_name: ScheduleSpec | str,
    *,
    root: Path = Path("/"),
    runner: Runner | None = None,
) -> tuple[Path, ...]:
    """Stop, disable and delete the units (``spec`` or unit base name); return the files
    removed. Removing what is not installed is not an error."""
    name = spec_or_name.name if isinstance(spec_or_name, ScheduleSpec) else spec_or_name
    name = name.removesuffix(".timer").removesuffix(".service")
    run = _pick_runner(root, runner)
    unit_dir = root / UNIT_DIR
    present = [unit_dir / f"{name}.timer", unit_dir / f"{name}.service"]
    if run is not None and any(p.exists() for p in present):
        _run(run, ["systemctl", "disable", "--now", f"{name}.timer"], check=False)
        _run(run, ["systemctl", "stop", f"{name}.service"], check=False)
    removed: list[Path] = []
    for path in (unit_dir / "timers.target.wants" / f"{name}.timer", *present):
        if path.is_symlink() or path.exists():
            try:
                path.unlink()
            except OSError as exc:
                raise ScheduleError(f"cannot remove {path}: {exc}") from exc
            if not path.parent.name.endswith(".wants"):
                removed.append(path)
    if run is not None and removed:
        _run(run, ["systemctl", "daemon-reload"])
        _run(run, ["systemctl", "reset-failed", f"{name}.service", f"{name}.timer"],
             check=False)
    return tuple(removed)


def spec_args(
    *,
    inventory: Path | None = None,
    limit: str | None = None,
    extra: Sequence[str] = (),
) -> tuple[str, ...]:
    """``drift`` arguments for a spec (absolute paths: the unit's working dir is /)."""
    args: list[str] = []
    if inventory is not None:
        args += ["--inventory", str(inventory.resolve())]
    if limit:
        args += ["--limit", limit]
    return (*args, *extra)
