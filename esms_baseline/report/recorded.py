"""What the history records besides checks, in the director's report: the latest agreement
with the reference scanner (``esms-baseline scan``) and the latest apply's manual actions
("Action manuelle requise"). Shown only when the caller looked them up
(``ReportModel.recorded``); then an absent record is said plainly."""

from __future__ import annotations

import datetime as _dt
import html
from typing import Any

from esms_baseline.conformance.messages import translate
from esms_baseline.history import ApplyRecord, ScanRecord
from esms_baseline.report.i18n import format_datetime
from esms_baseline.report.scanner_section import agreement_html
from esms_baseline.report.summary import ReportModel
from esms_baseline.scanner.record import rows_of

_TEXTS: dict[str, dict[str, str]] = {
    "scan_none": {
        "fr": "Aucun passage du scanner de référence (OpenSCAP) n'est enregistré pour cet "
              "établissement : la concordance n'a pas été mesurée (esms-baseline scan).",
        "en": "No run of the reference scanner (OpenSCAP) is recorded for this site: the "
              "agreement was not measured (esms-baseline scan)."},
    "scan_when": {
        "fr": "Passage du scanner du {date} ({scanner}, contenu {content}), comparé à la "
              "vérification n° {run} du {check}.",
        "en": "Scanner run of {date} ({scanner}, content {content}), compared with check "
              "no. {run} of {check}."},
    "scan_other_run": {
        "fr": "Attention : cette comparaison porte sur la vérification n° {run}, pas sur "
              "celle de ce rapport (n° {this}).",
        "en": "Note: this comparison is with check no. {run}, not the one of this report "
              "(no. {this})."},
    "manual_title": {"fr": "Actions manuelles requises", "en": "Manual actions required"},
    "manual_when": {
        "fr": "Dernière application du {date} (statut {status}) : {n} action(s) que "
              "l'outil laisse à une personne ; tout le reste a été appliqué.",
        "en": "Latest apply of {date} (status {status}): {n} action(s) the tool leaves to a "
              "person; everything else was enforced."},
    "manual_ok": {
        "fr": "Dernière application du {date} (statut {status}) : aucune action manuelle requise.",
        "en": "Latest apply of {date} (status {status}): no manual action required."},
    "manual_none": {
        "fr": "Aucune application n'est enregistrée pour cet établissement.",
        "en": "No apply is recorded for this site."},
    "host": {"fr": "Poste", "en": "Host"},
    "control": {"fr": "Contrôle", "en": "Control"},
    "reason": {"fr": "Action manuelle requise", "en": "Manual action required"},
    "title": {"fr": "Concordance avec le scanner de référence (OpenSCAP, ANSSI-BP-028)",
              "en": "Agreement with the reference scanner (OpenSCAP, ANSSI-BP-028)"},
}


def _t(key: str, lang: str, **values: Any) -> str:
    text = _TEXTS[key]["en" if lang == "en" else "fr"]
    return text.format(**values) if values else text


def _when(text: str | None, lang: str) -> str:
    if not text:
        return "?"
    try:
        return format_datetime(_dt.datetime.fromisoformat(text), lang)
    except ValueError:
        return text


def scan_sentence(scan: ScanRecord, lang: str) -> str:
    p = scan.payload
    return _t("scan_when", lang, date=format_datetime(scan.recorded, lang),
              scanner=p.get("scanner") or "OpenSCAP", content=p.get("content_version") or "?",
              run=scan.check_run_id if scan.check_run_id is not None else "?",
              check=_when(p.get("check_started"), lang))


def scanner_html(model: ReportModel, lang: str) -> str:
    """The scanner section of the HTML report ("" when not looked up)."""
    if not model.recorded:
        return ""
    e = html.escape
    scan = model.scanner
    if scan is None:
        return (f'<section id="scanner"><h2>{e(_t("title", lang))}</h2>'
                f'<p class="muted">{e(_t("scan_none", lang))}</p></section>')
    head = f"<p>{e(scan_sentence(scan, lang))}</p>"
    if model.run_id and scan.check_run_id != model.run_id:
        head += (f'<p class="muted">{e(_t("scan_other_run", lang, run=scan.check_run_id, this=model.run_id))}'
                 "</p>")
    body = agreement_html(rows_of(scan.payload), lang)
    return body.replace("</h2>", "</h2>" + head, 1)


def manual_actions_of(apply: ApplyRecord | None, lang: str = "en") -> list[dict[str, str]]:
    """The recorded manual actions, their reasons in ``lang`` (as recorded with "en")."""
    if apply is None:
        return []
    return [{"host": str(a.get("host", "")), "control": str(a.get("control", "")),
             "reason": translate(str(a.get("reason", "")), lang)}
            for a in apply.payload.get("manual_actions") or []]


def manual_html(model: ReportModel, lang: str) -> str:
    """The latest apply's manual actions ("" when not looked up)."""
    if not model.recorded:
        return ""
    e = html.escape
    out = [f'<section id="manual-actions"><h2>{e(_t("manual_title", lang))}</h2>']
    ap = model.last_apply
    actions = manual_actions_of(ap, lang)
    if ap is None:
        out.append(f'<p class="muted">{e(_t("manual_none", lang))}</p>')
    elif not actions:
        out.append(f"<p>{e(_t('manual_ok', lang, date=format_datetime(ap.finished, lang), status=ap.status))}</p>")
    else:
        out.append(f"<p>{e(_t('manual_when', lang, date=format_datetime(ap.finished, lang), status=ap.status, n=len(actions)))}</p>")
        out.append(f'<table class="manual"><thead><tr><th>{e(_t("host", lang))}</th>'
                   f'<th>{e(_t("control", lang))}</th><th>{e(_t("reason", lang))}</th></tr>'
                   "</thead><tbody>")
        out += [f'<tr class="row-manual"><td>{e(a["host"])}</td><td>{e(a["control"])}</td>'
                f'<td>{e(a["reason"])}</td></tr>' for a in actions]
        out.append("</tbody></table>")
    out.append("</section>")
    return "".join(out)


def to_json(model: ReportModel) -> dict[str, Any]:
    """The JSON report's ``scanner`` and ``last_apply`` keys (absent when not looked up)."""
    if not model.recorded:
        return {}
    scan = model.scanner
    ap = model.last_apply
    return {
        "scanner": None if scan is None else {
            "scan_id": scan.scan_id, "recorded": scan.recorded.isoformat(),
            "check_run_id": scan.check_run_id, **{k: v for k, v in scan.payload.items()
                                                  if k not in ("check_run_id", "scan_id")}},
        "last_apply": None if ap is None else {
            "apply_id": ap.apply_id, "started": ap.started.isoformat(),
            "finished": ap.finished.isoformat(), "status": ap.status,
            "exit_code": ap.exit_code, "manual_actions": manual_actions_of(ap)},
    }


def markdown_lines(model: ReportModel, lang: str) -> list[str]:
    """The Markdown report's two short sections ([] when not looked up)."""
    if not model.recorded:
        return []
    lines = ["", f"## {_t('manual_title', lang)}", ""]
    ap = model.last_apply
    actions = manual_actions_of(ap, lang)
    if ap is None:
        lines.append(_t("manual_none", lang))
    elif not actions:
        lines.append(_t("manual_ok", lang, date=format_datetime(ap.finished, lang), status=ap.status))
    else:
        lines.append(_t("manual_when", lang, date=format_datetime(ap.finished, lang),
                        status=ap.status, n=len(actions)))
        lines += [f"- **{a['host']}** — {a['control']}: {a['reason']}" for a in actions]
    lines += ["", f"## {_t('title', lang)}", ""]
    scan = model.scanner
    if scan is None:
        lines.append(_t("scan_none", lang))
    else:
        from esms_baseline.report.scanner_section import summary_text

        lines += [scan_sentence(scan, lang), "", summary_text(scan.payload, lang)]
        lines += [f"- **{r['host']}** — {r['control']} `{r['rule']}`: {r['ours']} / "
                  f"OpenSCAP {r['scanner']}" for r in scan.payload.get("rows") or []
                  if r.get("status") == "differ"]
    return lines
