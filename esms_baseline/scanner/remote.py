"""Run the reference scanner on a site's Debian hosts over SSH (``esms-baseline scan``).

OpenSCAP (``openscap-scanner``) and ComplianceAsCode's content (``ssg-debian``, datastream
at :data:`~esms_baseline.scanner.content.HOST_DATASTREAM`) must already be on the host, as
an auditor installs them: nothing is installed. Each host gets its own tailoring (the
site's values, :func:`~esms_baseline.scanner.tailoring.export_tailoring`) on standard input;
``oscap xccdf eval`` runs as root (``sudo -n`` unless already root) on the mapped rules only,
in a private temporary folder removed afterwards; the results XML comes back on standard
output. Host keys are verified like ``check`` does (the site's known_hosts, ssh's
``StrictHostKeyChecking=yes``, docs/host-keys.md): an unknown or changed key is refused by
ssh and nothing is sent. No secret is sent.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from esms_baseline.catalogue.scanner_map import load_scanner_map
from esms_baseline.conformance.model import CheckPlan
from esms_baseline.errors import EsmsError, ScannerError
from esms_baseline.hostkeys import Endpoint
from esms_baseline.profile import SiteProfile
from esms_baseline.scanner.content import HOST_DATASTREAM, RULE_PREFIX, Datastream
from esms_baseline.scanner.record import scanner_versions
from esms_baseline.scanner.results import parse_results
from esms_baseline.scanner.tailoring import export_tailoring, profile_id

#: oscap is killed (ssh closed) after this long on one host.
SCAN_TIMEOUT_SECONDS = 900
_SSH_OPTIONS = ("-o", "BatchMode=yes", "-o", "ControlMaster=no", "-o", "ControlPath=none",
                "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=10",
                "-o", "LogLevel=ERROR")
# $1 profile, $2 datastream, then the --rule arguments; the tailoring on standard input.
# oscap's own report goes to a file: only the results XML is written to standard output.
_SCRIPT = (
    'd=$(mktemp -d) || exit 97; trap \'rm -rf "$d"\' EXIT; cat > "$d/t.xml"; '
    'p=$1; ds=$2; shift 2; '
    'command -v oscap >/dev/null || { echo "oscap not installed (openscap-scanner)" >&2; exit 98; }; '
    '[ -r "$ds" ] || { echo "no datastream $ds (ssg-debian)" >&2; exit 99; }; '
    'oscap xccdf eval --profile "$p" --tailoring-file "$d/t.xml" --results "$d/r.xml" '
    '"$@" "$ds" >"$d/out" 2>&1; rc=$?; '
    '[ -f "$d/r.xml" ] && cat "$d/r.xml"; [ $rc -le 2 ] || tail -c 800 "$d/out" >&2; exit $rc'
)
_AS_ROOT = 'if [ "$(id -u)" -eq 0 ]; then exec "$@"; fi; exec sudo -n -- "$@"'


@dataclass(frozen=True)
class HostScan:
    """One host's scan: the result of each mapped rule, or why there is none (``error``)."""

    host: str
    rules: dict[str, str]
    scanner: str = ""
    content: str = ""
    error: str = ""


def remote_command(host: str, datastream: str, rules: Sequence[str]) -> str:
    """The command line ssh runs on ``host`` (every word quoted)."""
    argv = ["sh", "-c", _AS_ROOT, "sh", "sh", "-c", _SCRIPT, "sh", profile_id(host), datastream]
    for r in rules:
        argv += ["--rule", RULE_PREFIX + r]
    return " ".join(shlex.quote(a) for a in argv)


def ssh_argv(endpoint: Endpoint, command: str) -> list[str]:
    """ssh with the host-key options that verify ``endpoint`` against the site's files."""
    return ["ssh", *endpoint.enforced_options(), *_SSH_OPTIONS, *endpoint.args, "--",
            endpoint.destination, command]


def scan_hosts(profile: SiteProfile, *, inventory: Path | None = None, limit: str | None = None,
               datastream: Datastream | None = None, host_datastream: str = HOST_DATASTREAM,
               state_dir: Path | None = None, forks: int = 5) -> list[HostScan]:
    """Scan the profile's Debian hosts (mapped rules only); never raises for one host: its
    :class:`HostScan` carries the error."""
    from esms_baseline import hostkeys
    from esms_baseline.plan import build_check_plan

    plan = build_check_plan(profile, inventory, limit)
    names = [t.name for t in plan.hosts if t.platform == "debian"]
    if not names:
        raise ScannerError(f"{profile.site.name}: no Debian host to scan")
    inv = [Path(p) for p in ([inventory] if inventory else [])] or _plan_inventories(plan)
    site_file = hostkeys.site_known_hosts(plan.site_name, state_dir)
    endpoints = hostkeys.inventory_endpoints(inv, names, site_file) if inv else {}
    rules = list(load_scanner_map().rule_ids)

    def one(name: str) -> HostScan:
        ep = endpoints.get(name)
        if ep is None:
            return HostScan(name, {}, error="not reached over SSH (no inventory entry with "
                                            "an SSH connection): not scanned")
        if ep.refusal:
            return HostScan(name, {}, error=ep.refusal)
        try:
            tailoring = export_tailoring(profile, host=name, inventory=inventory,
                                         datastream=datastream)
            proc = subprocess.run(ssh_argv(ep, remote_command(name, host_datastream, rules)),
                                  input=tailoring, capture_output=True, text=True,
                                  encoding="utf-8", errors="replace",  # the host's bytes
                                  check=False, timeout=SCAN_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            return HostScan(name, {}, error=f"oscap took more than {SCAN_TIMEOUT_SECONDS} s")
        except EsmsError as exc:  # this host's tailoring: one host never stops the others
            return HostScan(name, {}, error=str(exc))
        if proc.returncode not in (0, 2) or not proc.stdout.strip():
            err = proc.stderr.strip()
            if "Host key verification failed" in err or "HOST IDENTIFICATION" in err:
                err = hostkeys.verify(ep).message or err
            return HostScan(name, {}, error=f"exit {proc.returncode}: {err[-800:]}")
        try:
            results = parse_results(proc.stdout)
        except ScannerError as exc:
            return HostScan(name, {}, error=str(exc))
        scanner, content = scanner_versions(proc.stdout)
        return HostScan(name, results, scanner, content)

    def guarded(name: str) -> HostScan:
        try:
            return one(name)
        except Exception as exc:  # noqa: BLE001 - one host never stops the others
            return HostScan(name, {}, error=f"{type(exc).__name__}: {exc}")

    with ThreadPoolExecutor(max_workers=max(1, min(forks, len(names)))) as pool:
        return list(pool.map(guarded, names))


def _plan_inventories(plan: CheckPlan) -> list[Path]:
    """The inventories named by the plan's ``ansible://`` host URLs."""
    from urllib.parse import parse_qs, urlparse

    out: list[Path] = []
    for t in plan.hosts:
        url = urlparse(t.testinfra_url)
        inv = parse_qs(url.query).get("ansible_inventory", [None])[0]
        if url.scheme == "ansible" and inv and Path(inv) not in out:
            out.append(Path(inv))
    return out
