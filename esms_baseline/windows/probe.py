"""First contact with a Windows host, read-only, before any apply (``esms-baseline windows
probe``).

Two WinRM commands, both read-only: ``probe.ps1`` (identity and administrator rights,
PowerShell version, edition/build/display language and console code page, domain
membership, Defender and Tamper Protection, pending reboot, WinRM listeners) and the
conformance collector (``conformance/collectors/windows.ps1``: the current values of the
registry, security policy and firewall settings). :func:`assess` turns both into a
readiness report: checks (``ok``/``info``/``warn``/``block``) and, for every setting the
baseline would write, its current and desired value. ``ready`` is true only when no check
blocks: the apply can proceed.

Only :func:`run_probe` does I/O; :func:`assess` is a pure function, unit-tested on outputs
written from the documented formats (tests/data/windows/probe-*.json: NOT captured on a host).
"""

from __future__ import annotations

import base64
import datetime as _dt
import importlib.util
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from esms_baseline.errors import EsmsError
from esms_baseline.windows import parse
from esms_baseline.windows.connection import WinRMSettings
from esms_baseline.windows.desired import WindowsDesiredState

PROBE_SCRIPT = Path(__file__).resolve().parent / "probe.ps1"
#: Ansible's Windows modules need Windows PowerShell 5.1 or later
#: (https://docs.ansible.com/ansible/latest/os_guide/windows_setup.html).
MIN_POWERSHELL = (5, 1)
#: Oldest build the baseline is written for: Windows 10 1607 / Server 2016.
MIN_BUILD = 14393
#: Python modules the WinRM transports need on the control machine (pywinrm extras).
TRANSPORT_MODULES = {"kerberos": ("kerberos", "esms-baseline[kerberos]"),
                     "credssp": ("requests_credssp", "esms-baseline[credssp]")}

Status = Literal["ok", "info", "warn", "block"]


class ProbeError(EsmsError):
    """The probe's output cannot be read."""


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str


@dataclass(frozen=True)
class Setting:
    """A value the baseline writes: where, what it is now, what the apply would make it."""

    control: str
    setting: str
    current: str
    desired: str
    would_change: bool


@dataclass
class ProbeReport:
    host: str
    checks: list[Check] = field(default_factory=list)
    settings: list[Setting] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not any(c.status == "block" for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "ready": self.ready,
                "checks": [asdict(c) for c in self.checks],
                "settings": [asdict(s) for s in self.settings],
                "would_change": sum(1 for s in self.settings if s.would_change)}


@cache
def probe_source() -> str:
    return PROBE_SCRIPT.read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- client side


def client_checks(s: WinRMSettings,
                  has_module: Callable[[str], bool] | None = None) -> list[Check]:
    """What the control machine can tell before connecting."""
    found = has_module or (lambda m: importlib.util.find_spec(m) is not None)
    checks: list[Check] = []
    secure = s.scheme == "https" and s.server_cert_validation == "validate"
    if secure:
        checks.append(Check("winrm-https", "ok", f"HTTPS on {s.port}, server certificate "
                            f"validated ({s.ca_trust_path or 'system CA bundle'})"))
    elif s.weaker_reason:
        checks.append(Check("winrm-https", "warn", f"{s.scheme}, certificate validation "
                            f"{s.server_cert_validation}: accepted because {s.weaker_reason}"))
    else:
        checks.append(Check("winrm-https", "block", f"{s.scheme}, certificate validation "
                            f"{s.server_cert_validation}: use HTTPS with a validated "
                            "certificate (docs/windows.md)"))
    module = TRANSPORT_MODULES.get(s.transport)
    if module and not found(module[0]):
        checks.append(Check("winrm-transport", "block",
                            f"transport {s.transport} needs the Python module {module[0]} on "
                            f"this machine: pip install '{module[1]}' (docs/windows.md)"))
    else:
        checks.append(Check("winrm-transport", "ok", f"transport {s.transport}"))
    return checks


# ----------------------------------------------------------------------------- host side


def parse_probe(text: str | bytes) -> dict[str, Any]:
    try:
        doc = json.loads(parse.decode_console(text) if isinstance(text, bytes) else text)
    except ValueError as exc:
        raise ProbeError(f"probe output is not JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("probe") != 1:
        raise ProbeError("probe output is not a probe document")
    return doc


def _version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(".")[:2])
    except ValueError:
        return (0,)


def host_checks(p: Mapping[str, Any], desired: WindowsDesiredState,
                now: _dt.datetime | None = None) -> list[Check]:
    checks: list[Check] = []
    errors = p.get("errors") or {}
    for name, message in errors.items():
        checks.append(Check(f"read-{name}", "warn", f"could not read {name}: {message}"))
    ident = p.get("identity") or {}
    if ident.get("is_admin"):
        checks.append(Check("admin", "ok", f"{ident.get('name')} is an administrator"))
    else:
        checks.append(Check("admin", "block", f"{ident.get('name') or 'the account'} is not an "
                            "administrator of the host (or UAC filters its token: use a domain "
                            "account or LocalAccountTokenFilterPolicy): nothing can be applied"))
    ps = str((p.get("powershell") or {}).get("version") or "")
    if _version(ps) >= MIN_POWERSHELL:
        checks.append(Check("powershell", "ok", f"PowerShell {ps}"))
    else:
        checks.append(Check("powershell", "block", f"PowerShell {ps or '?'}: Ansible needs 5.1 "
                            "or later (Windows Management Framework 5.1)"))
    os_ = p.get("os") or {}
    raw_build = os_.get("build")
    build: int = raw_build if isinstance(raw_build, int) else 0
    product = os_.get("product_type")
    kind = {1: "workstation", 2: "domain controller", 3: "server"}.get(
        product if isinstance(product, int) else 0, "?")
    detail = f"{os_.get('caption')} ({kind}), build {build}"
    if build < MIN_BUILD:
        checks.append(Check("edition", "block", detail + f": older than {MIN_BUILD} (Windows 10 "
                            "1607 / Server 2016), not supported"))
    else:
        checks.append(Check("edition", "ok", detail))
    if os_.get("product_type") == 2:
        checks.append(Check("domain-controller", "block", "a domain controller: local accounts "
                            "and the local password policy do not exist there; manage it by GPO"))
    need = desired.min_build_for_password_length
    if need and build < need:
        checks.append(Check("password-length", "warn", f"the profile's minimum length needs "
                            f"build {need}; ESMS-PWD-01 will fail on this host"))
    checks.append(Check("language", "info", f"display language {os_.get('ui_culture')}, "
                        f"console code page {os_.get('code_page')}, installed "
                        f"{', '.join(os_.get('mui_languages') or [])}"))
    if os_.get("part_of_domain"):
        checks.append(Check("domain", "warn", f"member of {os_.get('domain')}: the domain's "
                            "password and lockout policy wins (ESMS-PWD-01/02/04 report it, "
                            "the apply leaves it)"))
    else:
        checks.append(Check("domain", "info", f"workgroup {os_.get('domain')}"))
    av = p.get("defender")
    if not isinstance(av, Mapping):
        checks.append(Check("defender", "warn", "Microsoft Defender not readable: ESMS-AV-01/02 "
                            "will fail (another antivirus?)"))
    else:
        mode = str(av.get("running_mode") or "")
        tamper = av.get("tamper_protected")
        if not (av.get("am_service_enabled") and av.get("antivirus_enabled")) or (
                mode and mode != "Normal"):
            checks.append(Check("defender", "warn", f"Defender not active (mode {mode or '?'}): "
                                "ESMS-AV-01 will fail; another antivirus is not supported yet"))
        elif not av.get("realtime_enabled") and tamper:
            checks.append(Check("defender", "warn", "real-time protection off and Tamper "
                                "Protection on: the apply cannot turn it on (ESMS-AV-01 will "
                                "fail); turn it on in Windows Security or the Defender console"))
        else:
            checks.append(Check("defender", "ok", f"Defender {mode or 'active'}, real-time "
                                f"{'on' if av.get('realtime_enabled') else 'off (the apply turns it on)'}, "
                                f"Tamper Protection {'on' if tamper else 'off' if tamper is False else '?'}"))
    rb = p.get("reboot") or {}
    if rb.get("windows_update") or rb.get("servicing"):
        checks.append(Check("reboot", "warn", "a restart is pending: restart the host before "
                            "the first apply (policy and update changes may not take effect)"))
    else:
        checks.append(Check("reboot", "ok", "no restart pending"))
    listeners = p.get("winrm") or []
    https = [x for x in listeners if "Transport=HTTPS" in (x.get("keys") or [])]
    plain = [x for x in listeners if "Transport=HTTP" in (x.get("keys") or [])]
    if plain:
        checks.append(Check("winrm-listeners", "warn", "an HTTP (unencrypted transport) WinRM "
                            "listener is also configured: remove it once HTTPS works"))
    elif https:
        checks.append(Check("winrm-listeners", "ok", f"HTTPS listener on {https[0].get('port')}"))
    for x in https:
        expiry = _date(x.get("not_after"))
        if expiry is not None and now is not None and (expiry - now).days < CERT_WARN_DAYS:
            checks.append(Check("winrm-certificate", "warn",
                                f"the HTTPS listener's certificate expires on {expiry.date()}: "
                                "renew it, or WinRM (and every run) stops working"))
    return checks


#: Warn when the WinRM certificate expires within this many days.
CERT_WARN_DAYS = 30


def _date(text: Any) -> _dt.datetime | None:
    try:
        return parse.parse_ps_datetime(text)
    except parse.ParseError:
        return None


# ----------------------------------------------------------------------------- current values


def _reg_text(item: Mapping[str, Any] | None) -> str:
    if not item or not item.get("exists"):
        return "absent"
    return f"{item.get('type')} {item.get('data')}"


def _want_text(typ: str, data: Any) -> str:
    return f"{'DWord' if typ == 'dword' else 'String'} {data}"


def current_settings(facts: Mapping[str, Any], desired: WindowsDesiredState) -> list[Setting]:
    """Every registry, user-policy, security-policy and firewall-profile value the baseline
    writes, with its current value (from the collector's facts)."""
    out: list[Setting] = []
    reg = {(str(i["path"]).lower(), str(i["name"]).lower()): i
           for i in parse.as_list(facts.get("registry"))}
    for r in desired.registry:
        item = reg.get((r.path.lower(), r.name.lower()))
        cur, want = _reg_text(item), _want_text(r.type, r.data)
        out.append(Setting(r.control, f"{r.path}\\{r.name}", cur, want, cur != want))
    hives: dict[str, dict[str, Mapping[str, Any]]] = {}
    for i in parse.as_list((facts.get("user_policies") or {}).get("values")):
        hives.setdefault(str(i["hive"]), {})[str(i["name"]).lower()] = i
    for hive in sorted(hives):
        for u in desired.user_registry:
            item = hives[hive].get(u.name.lower())
            cur, want = _reg_text(item), _want_text(u.type, u.data)
            out.append(Setting(u.control, f"HKU\\{hive}\\{u.subkey}\\{u.name}", cur, want,
                               cur != want))
    if facts.get("secedit_inf_b64"):
        inf = parse.system_access(base64.b64decode(facts["secedit_inf_b64"]))
        domain = bool((facts.get("os") or {}).get("part_of_domain"))
        for sp in desired.secpol:
            now = inf.get(sp.key)
            shown = "absent" if now is None else str(now)
            if sp.key == "LockoutDuration" and now == parse.SECEDIT_UNTIL_ADMIN_UNLOCKS:
                shown = "-1 (until an administrator unlocks)"
            out.append(Setting(sp.control, f"secedit [{sp.section}] {sp.key}", shown,
                               str(sp.value) + (" (domain policy: not changed)" if domain else ""),
                               now != sp.value and not domain))
    if facts.get("firewall_profiles_json"):
        profiles = parse.parse_firewall_profiles(facts["firewall_profiles_json"])
        for name in desired.firewall_profiles:
            fp = profiles.get(name)
            cur = f"enabled {fp.enabled}, inbound {fp.inbound}" if fp else "absent"
            out.append(Setting("ESMS-FW-01", f"firewall profile {name}", cur,
                               "enabled True, inbound Block",
                               cur != "enabled True, inbound Block"))
    return out


#: Rows for what is not a single value (accounts, firewall rules, antivirus, backups), from
#: the collector's facts: given by the caller (the CLI passes the conformance rules, a higher
#: layer this module does not import).
ExtraSettings = Callable[[Mapping[str, Any]], list[Setting]]


def assess(host: str, settings: WinRMSettings, probe: Mapping[str, Any],
           facts: Mapping[str, Any] | None, desired: WindowsDesiredState,
           has_module: Callable[[str], bool] | None = None,
           extra: ExtraSettings | None = None) -> ProbeReport:
    report = ProbeReport(host=host)
    report.checks += client_checks(settings, has_module)
    report.checks.append(Check("winrm-connection", "ok", "connected and authenticated"))
    report.checks += host_checks(probe, desired, _dt.datetime.now(_dt.UTC))
    if facts is None:
        report.checks.append(Check("current-values", "warn", "the collector did not run: "
                                   "current values unknown"))
    else:
        for name, message in (facts.get("errors") or {}).items():
            report.checks.append(Check(f"collect-{name}", "warn", f"{name}: {message}"))
        report.settings = current_settings(facts, desired)
        if extra is not None:
            report.settings += extra(facts)
    return report


def run_probe(name: str, settings: WinRMSettings, desired: WindowsDesiredState,
              host: Any | None = None, extra: ExtraSettings | None = None) -> ProbeReport:
    """Probe one host over WinRM (``host``: a testinfra Host, for tests)."""
    from esms_baseline.windows.collect import (
        WindowsCollectionError,
        WindowsUnreachable,
        powershell_command,
        run_collector,
        winrm_host,
    )

    report = ProbeReport(host=name, checks=client_checks(settings))
    if not report.ready:
        return report
    h = host if host is not None else winrm_host(settings)
    try:
        result = h.run(powershell_command(probe_source(), "probe.ps1"))
    except Exception as exc:  # noqa: BLE001 - any transport error is the finding
        report.checks.append(Check("winrm-connection", "block",
                                   f"{type(exc).__name__}: {exc} (HTTPS listener, certificate, "
                                   "credentials, firewall port?)"))
        return report
    if result.rc != 0:
        report.checks.append(Check("winrm-connection", "block",
                                   f"probe exited {result.rc}: {(result.stderr or '').strip()[-300:]}"))
        return report
    probe = parse_probe(result.stdout)
    facts: dict[str, Any] | None
    try:
        facts = run_collector(settings, h)
    except (WindowsCollectionError, WindowsUnreachable):
        facts = None
    return assess(name, settings, probe, facts, desired, extra=extra)


def render_table(report: ProbeReport) -> str:
    lines = [f"Windows probe of {report.host}: "
             + ("READY for a first apply" if report.ready else "NOT READY (see 'block')"), ""]
    width = max((len(c.name) for c in report.checks), default=10)
    for c in report.checks:
        lines.append(f"  {c.status.upper():5}  {c.name:{width}}  {c.detail}")
    if report.settings:
        changing = [s for s in report.settings if s.would_change]
        lines += ["", (f"Settings the baseline writes: {len(report.settings)}, "
                       f"{len(changing)} would change:")]
        for s in report.settings:
            mark = "->" if s.would_change else "=="
            lines.append(f"  {s.control:12} {s.setting}: {s.current} {mark} {s.desired}")
    return "\n".join(lines) + "\n"
