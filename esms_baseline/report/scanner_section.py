"""The report's section on the reference scanner: for each host and each rule of
ComplianceAsCode's ANSSI-BP-028 content mapped to a control (catalogue/scanner_map.yml),
our verdict next to OpenSCAP's, and whether they agree. Rows come from
:func:`esms_baseline.scanner.agreement_rows`; this module only presents them (a JSON part
and an HTML section, in French by default), so that a director whose auditor runs
OpenSCAP sees where the two say the same thing and why they differ where they do."""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from typing import Any

from esms_baseline.catalogue.scanner_map import load_scanner_map
from esms_baseline.scanner.agreement import AgreementRow

_TEXTS: dict[str, dict[str, str]] = {
    "title": {"fr": "Concordance avec le scanner de référence (OpenSCAP, ANSSI-BP-028)",
              "en": "Agreement with the reference scanner (OpenSCAP, ANSSI-BP-028)"},
    "intro": {"fr": "Règles du guide ANSSI-BP-028 (ComplianceAsCode) correspondant aux "
                    "contrôles du socle : notre vérification et celle d'OpenSCAP, avec le "
                    "profil adapté aux valeurs de l'établissement.",
              "en": "ANSSI-BP-028 rules (ComplianceAsCode) matching the baseline's controls: "
                    "our check and OpenSCAP's, with the profile tailored to the site's values."},
    "host": {"fr": "Poste", "en": "Host"},
    "control": {"fr": "Contrôle", "en": "Control"},
    "rule": {"fr": "Règle OpenSCAP", "en": "OpenSCAP rule"},
    "ours": {"fr": "Notre vérification", "en": "Our check"},
    "scanner": {"fr": "OpenSCAP", "en": "OpenSCAP"},
    "agree": {"fr": "Concordance", "en": "Agreement"},
    "yes": {"fr": "oui", "en": "yes"},
    "no": {"fr": "NON", "en": "NO"},
    "known": {"fr": "écart connu", "en": "known difference"},
    "note": {"fr": "Explication", "en": "Explanation"},
    "summary": {"fr": "{agree} règle(s) concordantes, {differ} écart(s) inattendu(s), "
                      "{known} écart(s) connu(s) et expliqué(s).",
                "en": "{agree} rule(s) agree, {differ} unexpected difference(s), "
                      "{known} known and explained difference(s)."},
}


def _t(key: str, lang: str, **values: Any) -> str:
    text = _TEXTS[key]["en" if lang == "en" else "fr"]
    return text.format(**values) if values else text


def _status(row: AgreementRow) -> str:
    if row.agrees:
        return "agree"
    return "differ" if row.expected_to_agree else "known"


def agreement_document(rows: Sequence[AgreementRow]) -> dict[str, Any]:
    """The section as a JSON-ready dict (for the JSON report or another tool)."""
    smap = load_scanner_map()
    counts = Counter(_status(r) for r in rows)
    return {
        "content": smap.content,
        "base_profile": smap.base_profile_id,
        "counts": {k: counts.get(k, 0) for k in ("agree", "differ", "known")},
        "rows": [{**r.to_dict(), "status": _status(r)} for r in rows],
    }


def agreement_html(rows: Sequence[AgreementRow], lang: str = "fr") -> str:
    """The section as an HTML fragment (``<section id="scanner">``), every text escaped."""
    e = html.escape
    counts = Counter(_status(r) for r in rows)
    head = "".join(f"<th>{e(_t(k, lang))}</th>" for k in
                   ("host", "control", "rule", "ours", "scanner", "agree", "note"))
    body = []
    for r in rows:
        status = _status(r)
        label = {"agree": _t("yes", lang), "differ": _t("no", lang),
                 "known": _t("known", lang)}[status]
        note = r.note if status != "agree" else ""
        body.append(
            f'<tr class="scanner-{status}"><td>{e(r.host)}</td><td>{e(r.control)}</td>'
            f"<td><code>{e(r.rule)}</code></td><td>{e(r.ours)}</td><td>{e(r.scanner)}</td>"
            f"<td>{e(label)}</td><td>{e(note or '')}</td></tr>")
    summary = _t("summary", lang, agree=counts.get("agree", 0), differ=counts.get("differ", 0),
                 known=counts.get("known", 0))
    return (f'<section id="scanner"><h2>{e(_t("title", lang))}</h2>'
            f"<p>{e(_t('intro', lang))}</p><p>{e(summary)}</p>"
            f'<table class="scanner"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></section>")


def summary_text(payload: dict[str, Any], lang: str = "fr") -> str:
    """One sentence of a recorded agreement's counts (``scanner.record.scan_payload``)."""
    counts = payload.get("counts") or {}
    return _t("summary", lang, agree=counts.get("agree", 0), differ=counts.get("differ", 0),
              known=counts.get("known", 0))
