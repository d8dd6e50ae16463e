"""Run the Windows collector (``conformance/collectors/windows.ps1``) on a host, once, over
WinRM through pytest-testinfra's ``winrm://`` backend.

The script travels on the command line, gzip-compressed and base64-encoded inside a short
bootstrap (``powershell.exe -NoProfile -NonInteractive -Command "..."``), so that it stays
below cmd.exe's 8191-character limit; nothing is copied to the host. testinfra's backend only
knows NTLM without a CA path: the connection arguments are completed here from the host's
Ansible variables (transport, certificate validation, CA bundle, message encryption), see
``esms_baseline.windows.connection``.
"""

from __future__ import annotations

import base64
import gzip
import json
import time
from functools import cache
from pathlib import Path
from typing import Any

from esms_baseline.errors import EsmsError
from esms_baseline.windows.connection import WinRMSettings

COLLECTOR = Path(__file__).resolve().parents[1] / "conformance" / "collectors" / "windows.ps1"
#: cmd.exe refuses longer command lines (8191); keep a margin.
MAX_COMMAND_CHARS = 8000


class WindowsCollectionError(EsmsError):
    """The host answered but did not return facts (not an administrator, bad output...)."""


class WindowsUnreachable(EsmsError):
    """The WinRM connection failed (refused, TLS, authentication)."""


@cache
def collector_source() -> str:
    return COLLECTOR.read_text(encoding="utf-8")


@cache
def remote_command() -> str:
    """The collector's command line (see :func:`powershell_command`)."""
    return powershell_command(collector_source(), "windows.ps1")


def powershell_command(source: str, name: str) -> str:
    """The command line that runs PowerShell ``source`` on the host: no character cmd.exe
    would interpret inside the quotes (no ``"%^&|<>``), at most MAX_COMMAND_CHARS long."""
    # full-line comments are documentation for readers, not sent (the scripts use no
    # here-strings, where such a line would be data)
    code = "\n".join(ln for ln in source.splitlines() if not ln.lstrip().startswith("#"))
    payload = base64.b64encode(gzip.compress(code.encode("utf-8"), 9, mtime=0)).decode()
    boot = (
        "$ms=New-Object IO.MemoryStream(,[Convert]::FromBase64String('" + payload + "'));"
        "$gz=New-Object IO.Compression.GZipStream($ms,[IO.Compression.CompressionMode]::Decompress);"
        "$src=(New-Object IO.StreamReader($gz,[Text.Encoding]::UTF8)).ReadToEnd();"
        "Invoke-Command -ScriptBlock ([ScriptBlock]::Create($src))"
    )
    cmd = f'powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -Command "{boot}"'
    if len(cmd) > MAX_COMMAND_CHARS:
        raise WindowsCollectionError(
            f"command is {len(cmd)} characters, over {MAX_COMMAND_CHARS}: shorten {name}")
    return cmd


def _conn_args(s: WinRMSettings) -> dict[str, Any]:
    args: dict[str, Any] = {
        "endpoint": s.endpoint,
        "transport": s.transport,
        "username": s.user,
        "password": s.password,
        "server_cert_validation": s.server_cert_validation,
        "message_encryption": s.message_encryption,
        "read_timeout_sec": s.read_timeout_sec,
        "operation_timeout_sec": s.operation_timeout_sec,
    }
    if s.ca_trust_path:
        args["ca_trust_path"] = s.ca_trust_path
    return args


def winrm_host(s: WinRMSettings) -> Any:
    """A testinfra Host on the ``winrm://`` backend with these (safe) settings."""
    import testinfra.host
    from testinfra.backend.winrm import WinRMBackend

    spec = f"{s.user or ''}@{s.host}:{s.port}" if s.user else f"{s.host}:{s.port}"
    backend = WinRMBackend(spec, no_ssl=s.scheme == "http")
    backend.conn_args = _conn_args(s)
    return testinfra.host.Host(backend)


def run_collector(s: WinRMSettings, host: Any | None = None) -> dict[str, Any]:
    """Collect the facts of one Windows host (one WinRM command)."""
    started = time.monotonic()
    h = host if host is not None else winrm_host(s)
    try:
        result = h.run(remote_command())
    except Exception as exc:
        name = type(exc).__name__
        if isinstance(exc, OSError | TimeoutError) or type(exc).__module__.split(".")[0] in (
                "requests", "urllib3", "winrm", "spnego", "requests_ntlm"):
            raise WindowsUnreachable(f"{s.host}: {name}: {exc}") from exc
        raise WindowsCollectionError(f"{s.host}: {name}: {exc}") from exc
    if result.rc != 0:
        err = (result.stderr or result.stdout or "").strip().splitlines()
        raise WindowsCollectionError(f"{s.host}: collector exited {result.rc}: "
                                     f"{err[-1] if err else ''}")
    try:
        facts = json.loads(result.stdout)
    except ValueError as exc:
        raise WindowsCollectionError(f"{s.host}: collector output is not JSON: {exc}") from exc
    if not isinstance(facts, dict) or facts.get("platform") != "windows":
        raise WindowsCollectionError(f"{s.host}: collector output is not Windows facts")
    facts["transfer_seconds"] = round(time.monotonic() - started, 3)
    return facts
