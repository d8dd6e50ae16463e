"""Socle 2, firewall: ESMS-FW-01..03 on Debian, from the live ruleset (``nft -j list ruleset``).

The ruleset is reduced to the accept rules of the input base chains that deny by default
(policy drop, or a final unconditional drop/reject); rules of chains they jump to are taken
as if inline. A packet is only accepted if every base chain on the hook accepts it, so the
accept rules of default-deny chains are the ones that open the host.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from esms_baseline.conformance.model import Outcome
from esms_baseline.conformance.rules._util import section, var

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_ICMP = {"icmp", "icmpv6", "ipv6-icmp"}


@dataclass
class Rule:
    chain: str
    verdict: str | None = None  # accept, drop, reject, jump:<chain>, goto:<chain>, return
    iif_lo: bool = False
    ct_states: frozenset[str] | None = None
    protocols: frozenset[str] | None = None  # tcp/udp; None = not restricted
    ports: frozenset[int] | None = None  # destination ports; None = no port match
    sources: tuple[Network, ...] | None = None  # None = any source
    icmp: bool = False
    other: list[str] = field(default_factory=list)  # matches not analysed (they restrict)

    def describe(self) -> str:
        parts = []
        if self.iif_lo:
            parts.append('iif "lo"')
        if self.ct_states:
            parts.append("ct state " + ",".join(sorted(self.ct_states)))
        if self.icmp:
            parts.append("icmp")
        if self.sources is not None:
            parts.append("saddr " + ",".join(str(n) for n in self.sources))
        if self.ports is not None:
            proto = "/".join(sorted(self.protocols)) if self.protocols else "tcp+udp"
            parts.append(f"{proto} dport {_ports_text(self.ports)}")
        parts += self.other
        return f"{self.chain}: " + " ".join(parts + [self.verdict or "(no verdict)"])


@dataclass
class InputChain:
    name: str
    family: str
    policy: str
    default_deny: bool
    rules: list[Rule]


def _ports_text(ports: Iterable[int]) -> str:
    p = sorted(ports)
    return ",".join(str(x) for x in p[:10]) + ("..." if len(p) > 10 else "")


class _Ruleset:
    def __init__(self, doc: Mapping[str, Any]) -> None:
        items = doc.get("nftables") or []
        self.chains: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.rules: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        self.sets: dict[tuple[str, str, str], list[Any]] = {}
        for item in items:
            if "chain" in item:
                c = item["chain"]
                self.chains[(c["family"], c["table"], c["name"])] = c
            elif "rule" in item:
                r = item["rule"]
                self.rules.setdefault((r["family"], r["table"], r["chain"]), []).append(r)
            elif "set" in item:
                s = item["set"]
                self.sets[(s["family"], s["table"], s["name"])] = list(s.get("elem") or [])

    def resolve(self, right: Any, family: str, table: str) -> Any:
        if isinstance(right, str) and right.startswith("@"):
            return {"set": self.sets.get((family, table, right[1:]), [])}
        return right


def _values(right: Any) -> list[Any]:
    if isinstance(right, dict) and "set" in right:
        return list(right["set"])
    if isinstance(right, list):  # e.g. ct state in ["established", "related"]
        return list(right)
    return [right]


def _ports(right: Any) -> frozenset[int]:
    out: set[int] = set()
    for v in _values(right):
        if isinstance(v, dict) and "range" in v:
            a, b = v["range"]
            out.update(range(int(a), int(b) + 1))
        elif isinstance(v, dict) and "elem" in v:
            out.update(_ports({"set": [v["elem"]["val"]]}))
        elif isinstance(v, int) or (isinstance(v, str) and v.isdigit()):
            out.add(int(v))
    return frozenset(out)


def _networks(right: Any) -> tuple[Network, ...]:
    out: list[Network] = []
    for v in _values(right):
        if isinstance(v, dict) and "elem" in v:
            v = v["elem"]["val"]
        if isinstance(v, dict) and "prefix" in v:
            out.append(ipaddress.ip_network(f"{v['prefix']['addr']}/{v['prefix']['len']}",
                                            strict=False))
        elif isinstance(v, dict) and "range" in v:
            a, b = (ipaddress.ip_address(x) for x in v["range"])
            out += list(ipaddress.summarize_address_range(a, b))
        elif isinstance(v, str):
            out.append(ipaddress.ip_network(v, strict=False))
    return tuple(out)


def _parse_rule(rs: _Ruleset, raw: Mapping[str, Any], chain: str) -> Rule:
    rule = Rule(chain=chain)
    family, table = raw["family"], raw["table"]
    for expr in raw.get("expr") or []:
        if "match" in expr:
            m = expr["match"]
            left, op = m.get("left") or {}, m.get("op", "==")
            right = rs.resolve(m.get("right"), family, table)
            meta = left.get("meta", {}).get("key") if isinstance(left, dict) else None
            payload = left.get("payload") if isinstance(left, dict) else None
            ct = left.get("ct", {}).get("key") if isinstance(left, dict) else None
            if meta in ("iif", "iifname") and op in ("==", "in") and right == "lo":
                rule.iif_lo = True
            elif ct == "state" and op in ("==", "in"):
                rule.ct_states = frozenset(str(v) for v in _values(right))
            elif meta == "l4proto" and op in ("==", "in"):
                protos = {str(v) for v in _values(right)}
                if protos & _ICMP:
                    rule.icmp = True
                rule.protocols = frozenset(protos - _ICMP) or rule.protocols
            elif payload and payload.get("field") == "protocol" and payload.get("protocol") == "ip":
                if {str(v) for v in _values(right)} & _ICMP:
                    rule.icmp = True
                else:
                    rule.other.append(f"ip protocol {right}")
            elif payload and payload.get("field") == "nexthdr" and payload.get("protocol") == "ip6":
                if {str(v) for v in _values(right)} & _ICMP:
                    rule.icmp = True
                else:
                    rule.other.append(f"ip6 nexthdr {right}")
            elif payload and payload.get("protocol") in _ICMP:
                rule.icmp = True
            elif payload and payload.get("field") == "dport" and op in ("==", "in"):
                rule.ports = _ports(right)
                if payload.get("protocol") in ("tcp", "udp"):
                    rule.protocols = frozenset({payload["protocol"]})
            elif (payload and payload.get("field") == "saddr"
                  and payload.get("protocol") in ("ip", "ip6") and op in ("==", "in")):
                rule.sources = (rule.sources or ()) + _networks(right)
            else:
                rule.other.append(f"{left} {op} {right}")
        elif "accept" in expr:
            rule.verdict = "accept"
        elif "drop" in expr:
            rule.verdict = "drop"
        elif "reject" in expr:
            rule.verdict = "reject"
        elif "jump" in expr:
            rule.verdict = "jump:" + expr["jump"]["target"]
        elif "goto" in expr:
            rule.verdict = "goto:" + expr["goto"]["target"]
        elif "return" in expr:
            rule.verdict = "return"
    return rule


def _unconditional(r: Rule) -> bool:
    return not (r.iif_lo or r.ct_states or r.protocols or r.ports is not None
                or r.sources is not None or r.icmp or r.other)


def _walk(rs: _Ruleset, family: str, table: str, chain: str, seen: frozenset[str]) -> list[Rule]:
    """The rules of a chain, with the rules of the chains it jumps to inlined."""
    out: list[Rule] = []
    for raw in rs.rules.get((family, table, chain), []):
        r = _parse_rule(rs, raw, f"{family} {table} {chain}")
        if r.verdict and r.verdict.split(":")[0] in ("jump", "goto"):
            target = r.verdict.split(":", 1)[1]
            if target not in seen:
                out += _walk(rs, family, table, target, seen | {target})
            continue
        out.append(r)
    return out


def input_chains(ruleset: Mapping[str, Any]) -> list[InputChain]:
    """Input base chains of families ip, ip6 and inet, with their rules (jumps inlined)."""
    rs = _Ruleset(ruleset)
    out = []
    for (family, table, name), chain in rs.chains.items():
        if chain.get("hook") != "input" or family not in ("ip", "ip6", "inet"):
            continue
        if chain.get("type", "filter") != "filter":
            continue
        rules = _walk(rs, family, table, name, frozenset({name}))
        policy = str(chain.get("policy", "accept"))
        final_drop = bool(rules) and _unconditional(rules[-1]) and rules[-1].verdict in (
            "drop", "reject")
        out.append(InputChain(f"{family} {table} {name}", family, policy,
                              policy == "drop" or final_drop, rules))
    return out


def _deny_chains(chains: Sequence[InputChain]) -> list[InputChain]:
    return [c for c in chains if c.default_deny]


def _covers_v4_v6(chains: Sequence[InputChain]) -> bool:
    fams = {c.family for c in chains}
    return "inet" in fams or {"ip", "ip6"} <= fams


def _nft(facts: Mapping[str, Any]) -> tuple[Mapping[str, Any], list[InputChain]]:
    nft = section(facts, "nft")
    ruleset = nft.get("ruleset") or {"nftables": []}
    return nft, input_chains(ruleset)


def fw_01(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-FW-01: input chain denying by default (IPv4+IPv6), lo and established accepted,
    nftables.service enabled at boot."""
    nft, chains = _nft(facts)
    deny = _deny_chains(chains)
    rules = [r for c in deny for r in c.rules if r.verdict == "accept"]
    lo = any(r.iif_lo and r.ports is None and r.sources is None for r in rules)
    est = any(r.ct_states and "established" in r.ct_states and r.ports is None for r in rules)
    found = {
        "input chains": [f"{c.name} policy {c.policy}" for c in chains] or "none",
        "loopback accepted": lo,
        "established accepted": est,
        "nftables.service": nft.get("enabled"),
    }
    expected = ("an input chain (inet, or ip and ip6) with policy drop, accepting iif lo and "
                "ct state established,related; nftables.service enabled")
    problems = []
    if not nft.get("installed"):
        problems.append("nftables not installed")
    if not deny:
        problems.append("no input chain drops by default: inbound traffic is allowed")
    elif not _covers_v4_v6(deny):
        problems.append("default deny does not cover both IPv4 and IPv6")
    if deny and not lo:
        problems.append("loopback not accepted")
    if deny and not est:
        problems.append("established connections not accepted")
    if nft.get("enabled") != "enabled":
        problems.append(f"nftables.service is {nft.get('enabled')}: the ruleset is lost at boot")
    return Outcome(not problems, found, expected, "; ".join(problems) or "firewall on")


@dataclass(frozen=True)
class Allowed:
    name: str
    port: int
    protocol: str
    sources: tuple[Network, ...]  # empty = any


def _declared(variables: Mapping[str, Any]) -> list[Allowed]:
    out = []
    for s in var(variables, "esms_firewall_allowed_services", []):
        out.append(Allowed(str(s.get("name", s["port"])), int(s["port"]),
                           str(s.get("protocol", "tcp")),
                           tuple(ipaddress.ip_network(x, strict=False)
                                 for x in s.get("sources") or ())))
    mgmt_sources = tuple(ipaddress.ip_network(x, strict=False)
                         for x in var(variables, "esms_firewall_management_sources", []))
    for p in var(variables, "esms_firewall_management_ports", [22]):
        out.append(Allowed("management", int(p), "tcp", mgmt_sources))
    return out


def _within(sources: tuple[Network, ...] | None, allowed: tuple[Network, ...]) -> bool:
    if not allowed:
        return True
    if sources is None:
        return False
    return all(any(s.version == a.version and s.subnet_of(a) for a in allowed)  # type: ignore[arg-type]
               for s in sources)


def _src_text(sources: Sequence[Network] | None) -> str:
    return "any" if not sources else ",".join(str(s) for s in sources)


def _harmless(r: Rule) -> bool:
    """Accept rules that open no service: loopback, established/related, icmp."""
    if r.ports is not None:
        return False
    if r.iif_lo or r.icmp:
        return True
    return r.ct_states is not None and bool(r.ct_states) and not (
        r.ct_states & {"new", "untracked"})


def fw_02(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-FW-02: every accept rule opens a declared service (or management port) from its
    declared sources; every declared service is open; nothing else is accepted."""
    _, chains = _nft(facts)
    deny = _deny_chains(chains)
    declared = _declared(variables)
    expected = [f"{a.port}/{a.protocol} ({a.name}) from {_src_text(a.sources)}" for a in declared]
    if not deny:
        return Outcome(False, "no default-deny input chain: every port is open",
                       expected, "no firewall: every port is open")
    opened: list[str] = []
    problems: list[str] = []
    covered: set[tuple[int, str]] = set()
    for r in (r for c in deny for r in c.rules if r.verdict == "accept"):
        if _harmless(r):
            continue
        if r.ports is None:
            problems.append(f"accept without port: {r.describe()}")
            continue
        for proto in sorted(r.protocols or {"tcp", "udp"}):
            for port in sorted(r.ports):
                opened.append(f"{port}/{proto} from {_src_text(r.sources)}")
                matches = [a for a in declared if a.port == port and a.protocol == proto]
                if not matches:
                    problems.append(f"{port}/{proto} open but not declared")
                elif not any(_within(r.sources, a.sources) for a in matches):
                    problems.append(f"{port}/{proto} open from {_src_text(r.sources)}, declared "
                                    f"{' or '.join(_src_text(a.sources) for a in matches)}")
                else:
                    covered.add((port, proto))
    for a in declared:
        if a.name != "management" and (a.port, a.protocol) not in covered:
            problems.append(f"declared {a.name} {a.port}/{a.protocol} not open")
    return Outcome(not problems, sorted(set(opened)) or "nothing open", expected,
                   "; ".join(problems) or "only declared services open")


def fw_03(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> Outcome:
    """ESMS-FW-03: management ports accepted from exactly the management sources."""
    ports = [int(p) for p in var(variables, "esms_firewall_management_ports", [22])]
    want = sorted({ipaddress.ip_network(x, strict=False)
                   for x in var(variables, "esms_firewall_management_sources", [])}, key=str)
    _, chains = _nft(facts)
    deny = _deny_chains(chains)
    expected = {f"{p}/tcp": _src_text(want) for p in ports}
    found: dict[str, str] = {}
    problems = []
    for port in ports:
        if not deny:
            found[f"{port}/tcp"] = "any (no firewall)"
            if want:
                problems.append(f"{port}/tcp open from any source (no firewall)")
            continue
        any_source = False
        sources: set[Network] = set()
        for r in (r for c in deny for r in c.rules if r.verdict == "accept"):
            if r.ports is None or port not in r.ports:
                continue
            if r.protocols is not None and "tcp" not in r.protocols:
                continue
            if r.sources is None:
                any_source = True
            else:
                sources.update(r.sources)
        got = sorted(sources, key=str)
        found[f"{port}/tcp"] = "any" if any_source else (_src_text(got) if got else "closed")
        if not any_source and not got:
            problems.append(f"{port}/tcp not open to the management sources (locked out)")
        elif want and any_source:
            problems.append(f"{port}/tcp open from any source")
        elif want and set(got) != set(want):
            problems.append(f"{port}/tcp sources {_src_text(got)} != {_src_text(want)}")
    return Outcome(not problems, found, expected, "; ".join(problems) or "management only")
