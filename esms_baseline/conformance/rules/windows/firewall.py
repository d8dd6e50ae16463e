"""Windows Defender Firewall rules (FW-01..03) and the exposures report."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from esms_baseline.conformance.model import Outcome
from esms_baseline.conformance.rules._util import section, var
from esms_baseline.conformance.rules.windows._common import (
    _LOOPBACK,
    CORE_NETWORKING_GROUP,
    _desired,
)
from esms_baseline.windows import parse
from esms_baseline.windows.desired import (
    RULE_PREFIX,
    FirewallRule,
    WindowsDesiredState,
)

# ------------------------------------------------------------------------ firewall


def fw_01(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-FW-01: Domain, Private and Public profiles on, inbound blocked (active store)."""
    d = _desired(variables)
    profiles = parse.parse_firewall_profiles(section(facts, "firewall_profiles_json"))
    found = {n: {"enabled": p.enabled, "inbound": p.inbound} for n, p in profiles.items()}
    expected = {n: {"enabled": "True", "inbound": "Block"} for n in d.firewall_profiles}
    problems = []
    for n in d.firewall_profiles:
        p = profiles.get(n)
        if p is None:
            problems.append(f"profile {n} not reported")
            continue
        if p.enabled != "True":
            problems.append(f"{n} profile is {p.enabled}")
        if p.inbound != "Block":
            problems.append(f"{n} profile inbound default is {p.inbound}")
    return Outcome(not problems, found, expected, "; ".join(problems) or "firewall on, inbound "
                                                                         "blocked")


def _rules(facts: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [r for r in parse.as_list(section(facts, "firewall_rules")) if isinstance(r, Mapping)]


def _check_esms_rules(rules: list[Mapping[str, Any]], wanted: list[FirewallRule]
                      ) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    for r in rules:
        by_name.setdefault(str(r.get("display_name") or r.get("name")), []).append(r)
    found: dict[str, Any] = {}
    expected: dict[str, Any] = {}
    problems = []
    for w in wanted:
        want_remote = None if not w.remote_addresses else parse.parse_addresses(
            list(w.remote_addresses))
        expected[w.name] = f"{w.protocol}/{w.port} from {', '.join(w.remote)}"
        got = by_name.get(w.name, [])
        if not got:
            found[w.name] = "absent or disabled"
            problems.append(f"no enabled rule {w.name!r}")
            continue
        r = got[0]
        remote = parse.parse_addresses(r.get("remote_address"))
        proto = parse.parse_protocol(r.get("protocol"))
        ports = parse.parse_ports(r.get("local_port"))
        found[w.name] = (f"{proto}/{','.join(str(p) for p in sorted(ports or ())) or 'any'} "
                         f"from {', '.join(remote) if remote else 'Any'}")
        if proto != w.protocol or ports != frozenset({w.port}) or remote != want_remote:
            problems.append(f"rule {w.name!r} is {found[w.name]}")
        if len(got) > 1:
            problems.append(f"{len(got)} rules named {w.name!r}")
    return found, expected, problems


def _listening(facts: Mapping[str, Any]) -> list[tuple[str, int, str | None]]:
    out = []
    for s in parse.as_list(section(facts, "listening")):
        addr = str(s.get("address") or "")
        if addr.startswith(_LOOPBACK):
            continue
        out.append((str(s["protocol"]), int(s["port"]), s.get("process")))
    return sorted(set(out), key=lambda x: (x[0], x[1], x[2] or ""))


def exposures(facts: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Listening (non-loopback) ports that an enabled inbound allow rule NOT owned by the
    baseline (and not Core Networking) lets in: ``{rule, protocol, port, remote}``."""
    out = []
    listening = _listening(facts)
    for r in _rules(facts):
        name = str(r.get("display_name") or r.get("name"))
        if name.startswith(RULE_PREFIX) or str(r.get("group") or "").lower() == \
                CORE_NETWORKING_GROUP:
            continue
        proto = parse.parse_protocol(r.get("protocol"))
        ports = parse.parse_ports(r.get("local_port"))
        program = str(r.get("program") or "").lower() or None
        for lp, port, process in listening:
            if proto not in ("any", lp) or (ports is not None and port not in ports):
                continue
            if program and (process or "").lower() != program:
                continue
            remote = parse.parse_addresses(r.get("remote_address"))
            out.append({"rule": name, "protocol": lp, "port": port,
                        "remote": list(remote) if remote else ["Any"]})
    return out


def _management_ports(d: WindowsDesiredState) -> set[int]:
    return {r.port for r in d.rules_for("ESMS-FW-03")}


def fw_02(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-FW-02: one ``ESMS <service>`` rule per declared service, no stale ESMS rule, and
    no listening port let in by any other rule (management ports: ESMS-FW-03)."""
    d = _desired(variables)
    rules = _rules(facts)
    found, expected, problems = _check_esms_rules(rules, d.rules_for("ESMS-FW-02"))
    known = {r.name for r in d.firewall_rules}
    stale = sorted({str(r.get("display_name")) for r in rules
                    if str(r.get("display_name") or "").startswith(RULE_PREFIX)
                    and str(r.get("display_name")) not in known})
    if stale:
        problems.append("ESMS rules no longer in the profile: " + ", ".join(stale))
    mgmt = _management_ports(d)
    open_ = [e for e in exposures(facts) if e["port"] not in mgmt]
    found["opened by other rules"] = [f"{e['protocol']}/{e['port']} by {e['rule']!r}"
                                      for e in open_]
    expected["opened by other rules"] = []
    if open_:
        problems.append("listening ports opened by rules outside the profile: " + ", ".join(
            sorted({f"{e['protocol']}/{e['port']}" for e in open_})))
    return Outcome(not problems, found, expected, "; ".join(problems) or "only declared "
                                                                         "services open")


def _within(remote: list[str], sources: Iterable[str]) -> bool:
    nets = [ipaddress.ip_network(s, strict=False) for s in sources]
    for r in remote:
        try:
            n = ipaddress.ip_network(r, strict=False)
        except ValueError:
            return False
        if not any(n.version == s.version and n.subnet_of(s) for s in nets):  # type: ignore[arg-type]
            return False
    return True


def fw_03(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-FW-03: ``ESMS management <port>/tcp`` rules from the MSP's sources only, and no
    other rule letting a management port in from elsewhere."""
    d = _desired(variables)
    found, expected, problems = _check_esms_rules(_rules(facts), d.rules_for("ESMS-FW-03"))
    sources = [str(s) for s in var(variables, "esms_firewall_management_sources")]
    mgmt = _management_ports(d)
    wide = [e for e in exposures(facts)
            if e["port"] in mgmt and not _within(e["remote"], sources)]
    found["management ports opened by other rules"] = [
        f"{e['protocol']}/{e['port']} by {e['rule']!r} from {', '.join(e['remote'])}"
        for e in wide]
    expected["management ports opened by other rules"] = []
    if wide:
        problems.append("management ports open beyond the MSP's sources: " + ", ".join(
            sorted({f"{e['protocol']}/{e['port']}" for e in wide})))
    return Outcome(not problems, found, expected, "; ".join(problems) or "management access "
                                                                         "limited to the MSP")
