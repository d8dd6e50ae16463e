"""Build (once) and cache the Debian root filesystem lab hosts boot from.

The base is made with mmdebstrap (variant minbase) from the control machine's Debian
mirror, with the security suite, then customised in a chroot: the management account
(``esms-admin``: locked password, passwordless sudo, key-only SSH), no SSH host keys (each
host makes its own at first boot), an empty machine id. Lab hosts have no network, so
every package the roles need must already be in the base: see :data:`PACKAGES`.

Bases live in the cache dir (``/var/cache/esms-baseline/lab``, or ``$ESMS_LAB_CACHE``),
one directory per :func:`cache_key`, shared by every lab and built under an fcntl lock.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from esms_baseline.errors import LabError
from esms_baseline.lab.model import MANAGEMENT_USER
from esms_baseline.lab.paths import locked

# Every package a lab host has. Roles cannot install anything in the lab (no network):
# append here what a role needs (the cache key changes, so bases are rebuilt).
PACKAGES: tuple[str, ...] = (
    "openssh-server",
    "openssh-sftp-server",
    "python3",
    "python3-apt",
    "systemd",
    "systemd-sysv",
    "dbus",
    "sudo",
    "iproute2",
    "procps",
    "libpam-pwquality",
    "libpam-modules",
    "nftables",
    "unattended-upgrades",
    "cron",
    "restic",
    "clamav",
    "clamav-freshclam",
    "clamav-daemon",
    "passwd",
    "login",
    "ca-certificates",
)

# Added by ``--desktop``: enough to configure and read a GNOME session lock (dconf).
DESKTOP_PACKAGES: tuple[str, ...] = (
    "dconf-cli",
    "dconf-gsettings-backend",
    "gsettings-desktop-schemas",
    "gnome-settings-daemon-common",
    "libglib2.0-bin",  # gsettings, to read a setting the way a GNOME session sees it
)

SUITES: tuple[str, ...] = ("bookworm", "trixie", "bullseye")

# Bump when the customisation below changes, so cached bases are rebuilt.
RECIPE_VERSION = 1

DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY_MIRROR = "http://deb.debian.org/debian-security"
_SOURCES_FILES = (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list"))

HOSTKEYS_UNIT = "esms-lab-ssh-hostkeys.service"
_HOSTKEYS_UNIT_TEXT = """\
[Unit]
Description=Generate this lab host's own SSH host keys (esms-baseline lab)
Before=ssh.service
DefaultDependencies=no
After=local-fs.target
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A
RemainAfterExit=yes

[Install]
WantedBy=ssh.service
"""

# Units that cannot work in a container without network or kernel access. They stay
# installed (roles may reconfigure them); they are only kept from failing at boot.
# The apt-daily timers are left alone: roles reconfigure apt-daily-upgrade.timer.
_DISABLED_UNITS: tuple[str, ...] = (
    "e2scrub_reap.service",
    "e2scrub_all.timer",
    "fstrim.timer",
    "systemd-pstore.service",
)

Progress = Callable[[str], None]


def package_list(desktop: bool) -> tuple[str, ...]:
    return PACKAGES + (DESKTOP_PACKAGES if desktop else ())


def package_hash(packages: Sequence[str]) -> str:
    """A short hash of a package list (order and duplicates do not matter)."""
    doc = json.dumps({"packages": sorted(set(packages)), "recipe": RECIPE_VERSION})
    return hashlib.sha256(doc.encode()).hexdigest()[:12]


def cache_key(suite: str, desktop: bool, packages: Sequence[str] | None = None) -> str:
    """The name of a cached base: suite, flavour and a hash of its package list."""
    if packages is None:
        packages = package_list(desktop)
    return f"{suite}-{'desktop' if desktop else 'server'}-{package_hash(packages)}"


def mirrors(sources_files: Sequence[Path] = _SOURCES_FILES) -> tuple[str, str]:
    """The control machine's Debian mirror and security mirror (deb822 or one-line)."""
    main, security = DEFAULT_MIRROR, DEFAULT_SECURITY_MIRROR
    found_main = found_sec = False
    for path in sources_files:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        uris: list[str] = []
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("URIs:"):
                uris += line.split()[1:]
            elif line.startswith("deb ") and not line.startswith("deb-src"):
                parts = [p for p in line.split()[1:] if not p.startswith("[")]
                if parts:
                    uris.append(parts[0])
        for uri in uris:
            if not uri.startswith(("http://", "https://")):
                continue
            if "security" in uri:
                if not found_sec:
                    security, found_sec = uri.rstrip("/"), True
            elif not found_main:
                main, found_main = uri.rstrip("/"), True
    return main, security


def apt_sources(suite: str, main: str, security: str) -> list[str]:
    return [
        f"deb {main} {suite} main",
        f"deb {main} {suite}-updates main",
        f"deb {security} {suite}-security main",
    ]


def base_dir(cache_dir: Path, suite: str, desktop: bool) -> Path:
    return cache_dir / cache_key(suite, desktop)


def is_built(path: Path) -> bool:
    return path.is_dir() and path.with_name(path.name + ".json").is_file()


def ensure_base(
    cache_dir: Path, suite: str, desktop: bool, progress: Progress | None = None
) -> Path:
    """The cached base for (suite, desktop), built now if missing. Safe to run concurrently."""
    if suite not in SUITES:
        raise LabError(f"unknown suite {suite!r}: expected one of {', '.join(SUITES)}")
    say = progress or (lambda _msg: None)
    target = base_dir(cache_dir, suite, desktop)
    if is_built(target):
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with locked(cache_dir / ".build.lock"):
        if is_built(target):  # built by a concurrent `lab up` while we waited
            return target
        say(f"building the {suite} base image ({target.name}), once: about 30 s")
        start = time.monotonic()
        tmp = target.with_name(target.name + ".tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        if target.exists():
            shutil.rmtree(target)
        try:
            _mmdebstrap(tmp, suite, package_list(desktop))
            _customise(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        tmp.rename(target)
        seconds = time.monotonic() - start
        meta = {
            "suite": suite,
            "desktop": desktop,
            "packages": list(package_list(desktop)),
            "recipe": RECIPE_VERSION,
            "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "build_seconds": round(seconds, 1),
        }
        target.with_name(target.name + ".json").write_text(json.dumps(meta, indent=2) + "\n")
        say(f"base image built in {seconds:.0f} s")
    return target


def _run(argv: list[str], what: str) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise LabError(f"{what} failed (exit {proc.returncode}):\n{tail}")


def _mmdebstrap(target: Path, suite: str, packages: Sequence[str]) -> None:
    main, security = mirrors()
    argv = [
        "mmdebstrap",
        "--variant=minbase",
        "--components=main",
        "--skip=cleanup/apt/lists",  # roles query the apt cache; hosts cannot update it
        "--include=" + ",".join(packages),
        suite,
        str(target),
        *apt_sources(suite, main, security),
    ]
    _run(argv, f"mmdebstrap {suite}")


def _chroot(root: Path, *argv: str) -> None:
    _run(["chroot", str(root), *argv], " ".join(argv))


def _customise(root: Path) -> None:
    user = MANAGEMENT_USER
    # Management account: key-only (authorized_keys is written per host), locked password.
    _chroot(
        root,
        "useradd",
        "--create-home",
        "--shell",
        "/bin/bash",
        "--comment",
        "esms-baseline management (lab)",
        user,
    )
    _chroot(root, "passwd", "--lock", user)
    _chroot(root, "install", "-d", "-m", "0700", "-o", user, "-g", user, f"/home/{user}/.ssh")
    sudoers = root / "etc/sudoers.d" / user
    sudoers.write_text(f"{user} ALL=(ALL:ALL) NOPASSWD: ALL\n", encoding="utf-8")
    sudoers.chmod(0o440)
    _chroot(root, "visudo", "-cf", f"/etc/sudoers.d/{user}")
    # SSH: no host keys in the base; each host generates its own before sshd starts.
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (root / "etc/systemd/system" / HOSTKEYS_UNIT).write_text(_HOSTKEYS_UNIT_TEXT)
    _chroot(root, "systemctl", "enable", HOSTKEYS_UNIT, "ssh.service")
    for unit in _DISABLED_UNITS:
        if _unit_exists(root, unit):
            _chroot(root, "systemctl", "disable", unit)
    # Identity is per host (written into each host's upper layer).
    (root / "etc/hostname").write_text("localhost\n")
    (root / "etc/machine-id").write_text("")
    dbus_id = root / "var/lib/dbus/machine-id"
    if dbus_id.exists() or dbus_id.is_symlink():
        dbus_id.unlink()
        dbus_id.symlink_to("/etc/machine-id")


def _unit_exists(root: Path, unit: str) -> bool:
    return any((root / d / unit).exists() for d in ("lib/systemd/system", "usr/lib/systemd/system"))
