"""Run a platform's fact collector on a host, once, through pytest-testinfra.

The collector (``collectors/<platform>.py``, standard library only) travels on the command
line, compressed: ``python3 -I -B -c 'exec(zlib.decompress(b64decode(...)))'`` as root
(``sudo -n`` unless already root). Nothing is copied to the host, nothing is written there.
"""

from __future__ import annotations

import base64
import json
import re
import time
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

from esms_baseline.conformance.model import SUPPORTED_PLATFORMS, CheckTarget
from esms_baseline.errors import EsmsError

_HERE = Path(__file__).resolve().parent
#: The collector is killed on the host after this long (a hung query must not hang a run).
REMOTE_TIMEOUT_SECONDS = 120
#: SSH options: a dead or frozen host fails fast instead of hanging the check, and no
#: ControlMaster is used or left behind (a kept-open master would hide a host whose sshd is
#: down, or a change of its SSH settings).
SSH_EXTRA_ARGS = (
    "-o BatchMode=yes -o ServerAliveInterval=5 -o ServerAliveCountMax=3 "
    "-o ControlMaster=no -o ControlPath=none"
)

# Root without sudo, otherwise non-interactive sudo (never waits for a password).
_AS_ROOT = 'if [ "$(id -u)" -eq 0 ]; then exec "$@"; fi; exec sudo -n -- "$@"'


class HostUnreachable(EsmsError):
    """The host could not be reached (SSH connection failed): every control is unreachable."""


class CollectionError(EsmsError):
    """The host was reached but the collector did not return facts (sudo refused, no python3,
    bad output): every control of the host is an error."""


#: Extra collector modules sent with a platform's collector, their body inserted before its
#: ``if __name__ == "__main__":`` guard (see collectors/debian_sector.py).
EXTRA_COLLECTORS: dict[str, tuple[str, ...]] = {"debian": ("debian_sector.py",)}
_MAIN_GUARD = '\nif __name__ == "__main__":'


@cache
def collector_source(platform: str) -> str:
    if platform not in SUPPORTED_PLATFORMS:
        raise CollectionError(f"no collector for platform {platform!r}")
    source = (_HERE / f"{platform}.py").read_text(encoding="utf-8")
    extras = EXTRA_COLLECTORS.get(platform, ())
    if not extras:
        return source
    head, guard, tail = source.rpartition(_MAIN_GUARD)
    if not guard:
        raise CollectionError(f"collector {platform}.py has no main guard")
    bodies = [
        "\n".join(ln for ln in (_HERE / name).read_text(encoding="utf-8").splitlines()
                  if ln.strip() != "from __future__ import annotations")
        for name in extras
    ]
    return head + "\n\n" + "\n\n".join(bodies) + "\n" + guard + tail


#: Helper sources run before a platform's collector, in the same namespace (no import on
#: the host: nothing is copied there).
COLLECTOR_PARTS: dict[str, tuple[str, ...]] = {"debian": ("debian_sudo",)}


def collector_parts(platform: str) -> list[tuple[str, str]]:
    """(name, source) of what is sent for ``platform``, in execution order."""
    names = [*COLLECTOR_PARTS.get(platform, ()), platform]
    return [(n, collector_source(platform) if n == platform
             else (_HERE / f"{n}.py").read_text(encoding="utf-8")) for n in names]


@cache
def _python_code(platform: str) -> str:
    parts = ",".join(
        f"('esms-collector-{name}','{base64.b64encode(zlib.compress(src.encode(), 9)).decode()}')"
        for name, src in collector_parts(platform))
    return (
        "import base64,zlib\n"
        f"for n,p in ({parts},):exec(compile(zlib.decompress(base64.b64decode(p)),n,'exec'))"
    )


def remote_argv(platform: str) -> list[str]:
    """The command run on the host (arguments, quoted by testinfra)."""
    return [
        "sh", "-c", _AS_ROOT, "esms-collect",
        "timeout", str(REMOTE_TIMEOUT_SECONDS), "python3", "-I", "-B", "-c", _python_code(platform),
    ]


def host_spec(target: CheckTarget, ssh_config: Path | None) -> str:
    """The testinfra host spec: the target's URL, with the plan's ssh_config if it has none."""
    url = target.testinfra_url
    if ssh_config and urlparse(url).scheme == "ssh" and "ssh_config=" not in url:
        url += ("&" if "?" in url else "?") + "ssh_config=" + quote(str(ssh_config), safe="/")
    return url


def _is_connection_error(exc: BaseException) -> bool:
    if isinstance(exc, OSError | TimeoutError):
        return True
    if type(exc).__module__.startswith("paramiko"):
        return True
    # testinfra's ssh backend raises RuntimeError(CommandResult) when ssh exits with 255
    return isinstance(exc, RuntimeError) and getattr(exc.args[0] if exc.args else None,
                                                      "rc", None) == 255


def _connection_message(exc: BaseException) -> str:
    arg = exc.args[0] if exc.args else None
    stderr = getattr(arg, "stderr", None)
    if stderr:
        lines = [ln for ln in str(stderr).strip().splitlines() if ln.strip()]
        return lines[-1] if lines else "ssh exited with 255"
    return f"{type(exc).__name__}: {exc}"


def testinfra_host(spec: str, ssh_options: str = "") -> Any:
    """A testinfra Host for ``spec`` (ssh://, ansible://, paramiko://, local://...).

    An ``ansible://`` spec is resolved from the inventory to the SSH connection Ansible would
    use (user, become, ``ansible_ssh_common_args``). On SSH our options are added: fail fast
    on a dead host and never use or leave a ControlMaster. ``ssh_options`` (the verified
    known_hosts, see esms_baseline.hostkeys), then ours, go before the inventory's: ssh keeps
    the first value it reads.
    """
    import testinfra

    host = testinfra.get_host(spec)
    backend = host.backend
    if backend.NAME == "ansible":
        inner = backend.ansible_runner.get_host(backend.host, ssh_config=backend.ssh_config,
                                                ssh_identity_file=backend.ssh_identity_file)
        if inner is not None:
            host, backend = inner, inner.backend
    if backend.NAME in ("ssh", "safe-ssh"):
        # testinfra caches one Host per spec (two sites of a fleet may share one): these
        # options are this call's, on a copy, never on the shared backend
        import copy

        import testinfra.host

        backend = copy.copy(backend)
        host = testinfra.host.Host(backend)
        backend.set_host(host)
        backend.controlpersist = 0
        # ours before the inventory's: ssh keeps the first value, and an inventory's
        # ControlPath would reuse a master opened earlier without host key verification
        backend.ssh_extra_args = f"{ssh_options} {SSH_EXTRA_ARGS} {backend.ssh_extra_args or ''}".strip()
    return host


def warm_up(specs: list[str]) -> None:
    """Read each Ansible inventory named by an ``ansible://`` spec once (``ansible-inventory``
    takes about a second), before hosts are collected in parallel."""
    from testinfra.utils.ansible_runner import AnsibleRunner

    for spec in specs:
        url = urlparse(spec)
        if url.scheme != "ansible":
            continue
        inv = parse_qs(url.query).get("ansible_inventory", [None])[0]
        AnsibleRunner.get_runner(inv).inventory  # noqa: B018 - cached_property, read once


_SURROGATE = re.compile("[\ud800-\udfff]")


def scrub_surrogates(value: Any) -> Any:
    """``value`` (parsed JSON) with every lone surrogate (a host's non-UTF-8 byte, e.g. in a
    file name, written by the collector as ``\\udcff``) replaced by U+FFFD: results,
    history and reports are UTF-8, which cannot hold one."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {scrub_surrogates(k): scrub_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_surrogates(v) for v in value]
    return value


@dataclass(frozen=True)
class Collected:
    facts: dict[str, Any]
    seconds: float


def _inventory_hostvars(target: CheckTarget) -> dict[str, Any]:
    """The Ansible variables of a target named by an ``ansible://`` URL."""
    from testinfra.utils.ansible_runner import AnsibleRunner

    url = urlparse(target.testinfra_url)
    inv = parse_qs(url.query).get("ansible_inventory", [None])[0]
    if url.scheme != "ansible" or not inv:
        raise CollectionError(
            f"windows host {target.name}: WinRM settings come from the Ansible inventory; "
            f"expected an ansible://HOST?ansible_inventory=PATH target, not {target.testinfra_url}"
        )
    inventory = AnsibleRunner.get_runner(inv).inventory
    hostvars: dict[str, Any] = inventory.get("_meta", {}).get("hostvars", {}).get(target.name, {})
    return dict(hostvars)


def _collect_windows(target: CheckTarget) -> Collected:
    """Windows: the PowerShell collector over WinRM (settings from the inventory)."""
    import os

    from esms_baseline.windows.collect import (
        WindowsCollectionError,
        WindowsUnreachable,
        run_collector,
    )
    from esms_baseline.windows.connection import WinRMConfigError, settings_from_hostvars

    started = time.monotonic()
    hostvars = _inventory_hostvars(target)
    try:
        settings = settings_from_hostvars(target.name, hostvars, os.environ)
        facts = run_collector(settings)
    except WindowsUnreachable as exc:
        raise HostUnreachable(str(exc)) from exc
    except (WindowsCollectionError, WinRMConfigError) as exc:
        raise CollectionError(str(exc)) from exc
    return Collected(facts=facts, seconds=time.monotonic() - started)


def collect(target: CheckTarget, ssh_config: Path | None = None) -> Collected:
    """Collect the facts of one host; raises HostUnreachable or CollectionError."""
    if target.platform == "windows":
        return _collect_windows(target)
    argv = remote_argv(target.platform)
    started = time.monotonic()
    try:
        host = testinfra_host(host_spec(target, ssh_config), target.ssh_options)
        result = host.run(" ".join(["%s"] * len(argv)), *argv)
    except Exception as exc:
        if _is_connection_error(exc):
            raise HostUnreachable(f"{target.name}: {_connection_message(exc)}") from exc
        raise CollectionError(f"{target.name}: {type(exc).__name__}: {exc}") from exc
    seconds = time.monotonic() - started
    if result.rc != 0:
        err = (result.stderr or result.stdout or "").strip().splitlines()
        tail = err[-1] if err else ""
        if result.rc == 124:
            tail = f"collector timed out after {REMOTE_TIMEOUT_SECONDS} s"
        raise CollectionError(f"{target.name}: collector exited {result.rc}: {tail}")
    try:
        facts = scrub_surrogates(json.loads(result.stdout))
    except ValueError as exc:
        raise CollectionError(f"{target.name}: collector output is not JSON: {exc}") from exc
    if not isinstance(facts, dict) or facts.get("platform") != target.platform:
        raise CollectionError(f"{target.name}: collector output is not {target.platform} facts")
    return Collected(facts=facts, seconds=seconds)
