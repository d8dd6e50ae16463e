"""Text rendering of a CheckResult: host x control table, summary per socle point, failures
with found vs expected. French by default, English with ``lang="en"``. Returns strings; never
prints."""

from __future__ import annotations

import json
from typing import Any

from esms_baseline.catalogue import SOCLE, load_catalogue
from esms_baseline.conformance.messages import translate
from esms_baseline.conformance.values_text import value_text
from esms_baseline.results import SITE_HOST, CheckResult, ControlResult, Verdict

_WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "pass": "conforme", "fail": "ÉCHEC", "excepted": "dérogation", "error": "erreur",
        "unreachable": "injoignable", "not_applicable": "n/a", "warning": "à planifier",
        "host": "machine", "socle": "Synthèse par point du socle", "failures": "Écarts",
        "found": "constaté", "expected": "attendu", "problems": "Erreurs et machines injoignables",
        "total": "Total", "exit": "code de sortie", "none": "aucun",
    },
    "en": {
        "pass": "pass", "fail": "FAIL", "excepted": "excepted", "error": "error",
        "unreachable": "unreachable", "not_applicable": "n/a", "warning": "warning",
        "host": "host", "socle": "Summary per socle point", "failures": "Failures",
        "found": "found", "expected": "expected", "problems": "Errors and unreachable hosts",
        "total": "Total", "exit": "exit status", "none": "none",
    },
}


def _short(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                            default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)


def render_text(result: CheckResult, lang: str = "fr") -> str:
    w = _WORDS["en" if lang == "en" else "fr"]
    cat = load_catalogue()
    order = {c.id: i for i, c in enumerate(cat.controls)}
    controls = sorted({r.control for r in result.results}, key=lambda c: order.get(c, 999))
    hosts = [h for h in result.hosts] + (
        [SITE_HOST] if any(r.host == SITE_HOST for r in result.results) else [])
    cell: dict[tuple[str, str], ControlResult] = {(r.host, r.control): r for r in result.results}
    out: list[str] = []

    # host x control matrix (controls as rows: they are more numerous than hosts)
    rows = [["", *hosts]]
    for cid in controls:
        rows.append([cid, *(w[cell[(h, cid)].verdict.value] if (h, cid) in cell else "-"
                            for h in hosts)])
    out.append(_table(rows))

    # summary per socle point
    out += ["", w["socle"] + " :" if lang != "en" else w["socle"] + ":"]
    socle_of = {c.id: c.socle for c in cat.controls}
    srows = []
    for point, title in SOCLE.items():
        rs = [r for r in result.results if socle_of.get(r.control) == point]
        if not rs:
            continue
        per = {v: sum(1 for r in rs if r.verdict is v) for v in Verdict}
        parts = [f"{n} {w[v.value]}" for v, n in per.items() if n]
        srows.append([f"  {point}.", title["en" if lang == "en" else "fr"], ", ".join(parts)])
    if srows:
        out.append(_table(srows))

    failures = [r for r in result.results if r.verdict is Verdict.FAIL]
    out += ["", f"{w['failures']} ({len(failures)}) :" if lang != "en"
            else f"{w['failures']} ({len(failures)}):"]
    if not failures:
        out.append(f"  {w['none']}")
    for r in failures:
        ctitle = cat.get(r.control).title.get(lang) if r.control in order else ""
        out.append(f"  {r.host} {r.control} {ctitle}: {translate(r.message, lang)}")
        out.append(f"      {w['found']:<9} {_short(value_text(r.found, lang))}")
        out.append(f"      {w['expected']:<9} {_short(value_text(r.expected, lang))}")

    problems = [r for r in result.results if r.verdict in (Verdict.ERROR, Verdict.UNREACHABLE)]
    if problems:
        out += ["", f"{w['problems']} ({len(problems)}):"]
        seen: set[tuple[str, str]] = set()
        for r in problems:  # one line per host and message, not per control
            if (r.host, r.message) in seen:
                continue
            seen.add((r.host, r.message))
            n = sum(1 for x in problems if (x.host, x.message) == (r.host, r.message))
            out.append(f"  {r.host} [{w[r.verdict.value]} x{n}] {translate(r.message, lang)}")

    counts = result.counts()
    total = ", ".join(f"{counts[v.value]} {w[v.value]}" for v in Verdict if counts[v.value])
    out += ["", f"{w['total']}: {total} — {w['exit']} {result.exit_code}"]
    return "\n".join(out)
