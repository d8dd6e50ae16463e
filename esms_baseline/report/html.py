"""The HTML report: one self-contained, printable file for the director.

No external asset (CSS inline, trend chart as inline SVG, no script, a Content-Security-Policy
that forbids loading anything); print CSS for A4. Order: cover facts, summary of the 8 socle
points, trend, exceptions, organisational evidence, then details per point and per host.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from html import escape

from esms_baseline import __version__
from esms_baseline.conformance.messages import translate
from esms_baseline.history import RunSummary
from esms_baseline.report.html_sector import obsolete_section, providers_section
from esms_baseline.report.i18n import (
    colon,
    control_title,
    enumerate_text,
    explanation,
    format_date,
    format_datetime,
    plural,
    socle_title,
    t,
    value_text,
)
from esms_baseline.report.recorded import manual_html, scanner_html
from esms_baseline.report.summary import PointStatus, PointSummary, ReportModel, Row
from esms_baseline.results import SITE_HOST, Verdict

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

CSS = """
:root {
  --ink: #1d2330; --muted: #5b6474; --line: #d5d9e0; --soft: #f4f6f9;
  --ok: #17703a; --ok-bg: #e3f4e8; --ko: #b3261e; --ko-bg: #fbe6e4;
  --ex: #1f5aa6; --ex-bg: #e4edf9; --fill: #8a5300; --fill-bg: #fdf0d8;
  --inc: #5b4a8a; --inc-bg: #ece8f6; --na: #5b6474; --na-bg: #eceef2;
}
* { box-sizing: border-box; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
html { font-family: "DejaVu Sans", "Segoe UI", "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); background: #fff; font-size: 15px; line-height: 1.45; }
body { margin: 0 auto; max-width: 1120px; padding: 28px 36px 48px; }
h1 { font-size: 1.75rem; margin: .1rem 0 .3rem; line-height: 1.2; }
h2 { font-size: 1.3rem; margin: 2rem 0 .6rem; padding-bottom: .25rem;
     border-bottom: 2px solid var(--ink); }
h3 { font-size: 1.1rem; margin: 1.6rem 0 .4rem; }
h4 { font-size: .98rem; margin: 1rem 0 .3rem; color: var(--muted); }
p { margin: .4rem 0; }
.kicker { text-transform: uppercase; letter-spacing: .08em; font-size: .78rem;
          color: var(--muted); margin: 0; }
.subtitle { color: var(--muted); margin: 0 0 1rem; max-width: 60rem; }
.facts { display: grid; grid-template-columns: repeat(4, 1fr); gap: 0; margin: 0;
         border: 1px solid var(--line); border-radius: 6px; overflow: hidden; }
.facts div { padding: .55rem .8rem; border-right: 1px solid var(--line); background: var(--soft); }
.facts div:last-child { border-right: 0; }
.facts dt { font-size: .78rem; color: var(--muted); }
.facts dd { margin: 0; font-weight: 600; }
.tiles { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin: .8rem 0; }
.tile { border-radius: 6px; padding: .6rem .9rem; border: 1px solid var(--line); }
.tile .n { font-size: 1.9rem; font-weight: 700; line-height: 1.1; }
.tile .l { font-size: .9rem; }
.tile.compliant { background: var(--ok-bg); color: var(--ok); border-color: var(--ok); }
.tile.non_compliant { background: var(--ko-bg); color: var(--ko); border-color: var(--ko); }
.tile.excepted { background: var(--ex-bg); color: var(--ex); border-color: var(--ex); }
.tile.to_fill { background: var(--fill-bg); color: var(--fill); border-color: var(--fill); }
.lead { font-size: 1.02rem; }
.callout { border-left: 4px solid var(--ko); background: var(--ko-bg); padding: .5rem .8rem;
           margin: .6rem 0; }
.callout.good { border-color: var(--ok); background: var(--ok-bg); }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 .8rem; font-size: .92rem; }
th, td { text-align: left; vertical-align: top; padding: .42rem .55rem;
         border-bottom: 1px solid var(--line); }
th { background: var(--soft); font-weight: 600; font-size: .85rem; color: var(--muted); }
tr { break-inside: avoid; page-break-inside: avoid; }
table.summary td.num { white-space: nowrap; font-weight: 600; }
table.summary td.point { font-weight: 600; width: 26%; }
table.summary td.point span { color: var(--muted); font-weight: 400; margin-right: .3rem; }
.todo { margin-top: .25rem; font-size: .88rem; }
.todo.ko { color: var(--ko); } .todo.fill { color: var(--fill); } .todo.na { color: var(--muted); }
.badge { display: inline-block; padding: .12rem .55rem; border-radius: 999px; font-weight: 600;
         font-size: .84rem; white-space: nowrap; border: 1px solid currentColor; }
.compliant, .v-pass { color: var(--ok); }
.badge.compliant, .badge.v-pass { background: var(--ok-bg); }
.non_compliant, .v-fail { color: var(--ko); }
.badge.non_compliant, .badge.v-fail { background: var(--ko-bg); }
.excepted, .v-excepted { color: var(--ex); }
.badge.excepted, .badge.v-excepted { background: var(--ex-bg); }
.to_fill, .v-to_fill { color: var(--fill); }
.badge.to_fill, .badge.v-to_fill { background: var(--fill-bg); }
.v-manual { color: var(--ko); } .badge.v-manual { background: var(--ko-bg); border-style: double; }
.incomplete, .v-error, .v-unreachable { color: var(--inc); }
.badge.incomplete, .badge.v-error, .badge.v-unreachable { background: var(--inc-bg); }
.v-warning { color: var(--fill); }
.badge.v-warning { background: var(--fill-bg); }
.not_evaluated, .v-not_applicable { color: var(--na); }
.badge.not_evaluated, .badge.v-not_applicable { background: var(--na-bg); }
tr.row-fail td, tr.row-to_fill td, tr.row-manual td { background: #fff8f7; }
td.id { white-space: nowrap; font-family: "DejaVu Sans Mono", Consolas, monospace;
        font-size: .8rem; color: var(--muted); }
td.val { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: .8rem;
         word-break: break-word; max-width: 22rem; }
.flag { color: var(--ko); font-weight: 600; }
.warn { color: var(--fill); font-weight: 600; }
.muted { color: var(--muted); }
table.details { table-layout: fixed; }
table.details col.c-control { width: 30%; } table.details col.c-result { width: 16%; }
table.details col.c-found, table.details col.c-expected { width: 17%; }
table.details col.c-note { width: 20%; }
table.details tr.host th { background: #fff; color: var(--ink); font-size: .92rem;
  padding-top: .8rem; border-bottom: 1px solid var(--ink); }
td.note { font-size: .84rem; word-break: break-word; }
.small { font-size: .8rem; }
.nowrap { white-space: nowrap; }
.trend svg { width: 100%; max-width: 760px; height: auto; display: block; }
.point { break-inside: auto; }
.point-head { display: flex; gap: .8rem; align-items: baseline; flex-wrap: wrap; }
footer { margin-top: 2.5rem; padding-top: .6rem; border-top: 1px solid var(--line);
         color: var(--muted); font-size: .82rem; }
@media print {
  @page { size: A4; margin: 14mm 12mm 16mm; }
  html { font-size: 10pt; }
  body { max-width: none; padding: 0; }
  h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
  .page-break { break-before: page; page-break-before: always; }
  .tiles, .facts, table.summary, .trend { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
@media (max-width: 760px) {
  .facts, .tiles { grid-template-columns: repeat(2, 1fr); }
}
"""


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _point_status_label(p: PointSummary, lang: str) -> str:
    if p.status is PointStatus.EXCEPTED and p.exception_until:
        return t("status_excepted_until", lang, date=format_date(p.exception_until, lang))
    return t(f"status_{p.status.value}", lang)


def _badge(css: str, label: str) -> str:
    return f'<span class="badge {_e(css)}">{_e(label)}</span>'


def _row_badge(row: Row, lang: str) -> str:
    return _badge(f"v-{row.status}", t(f"verdict_{row.status}", lang))


def _host_label(host: str, lang: str) -> str:
    return t("site_label", lang) if host == SITE_HOST else host


def _hosts_cell(p: PointSummary, lang: str) -> str:
    if p.status is PointStatus.NOT_EVALUATED:
        return t("none", lang)
    if p.site_level:
        return t("whole_site", lang)
    total = len(p.hosts_checked)
    return t("hosts_of", lang, n=len(p.hosts_concerned), total=total)


def _todo(p: PointSummary, lang: str) -> str:
    out: list[str] = []
    failing: dict[str, list[str]] = {}
    filling: list[str] = []
    for r in p.rows:
        if r.to_fill:
            filling.append(control_title(r.result.control, lang) or r.result.control)
        elif r.result.verdict is Verdict.FAIL:
            failing.setdefault(r.result.control, []).append(r.host)
    if failing:
        parts = []
        for cid, hosts in failing.items():
            if hosts == [SITE_HOST]:
                where = t("whole_site", lang)
            elif len(p.hosts_checked) > 1 and set(hosts) >= set(p.hosts_checked):
                where = t("all_hosts", lang)
            elif len(hosts) > 5:
                where = ", ".join(hosts[:4]) + f" +{len(hosts) - 4}"
            else:
                where = ", ".join(hosts)
            manual = any(r.manual for r in p.rows if r.result.control == cid)
            flag = f" — {t('verdict_manual', lang).lower()}" if manual else ""
            parts.append(f"{_e(control_title(cid, lang) or cid)} ({_e(where)}){_e(flag)}")
        out.append(f'<div class="todo ko"><strong>{_e(t("to_fix", lang))}{colon(lang)}'
                   f'</strong> {"; ".join(parts)}</div>')
    if filling:
        out.append(f'<div class="todo fill"><strong>{_e(t("to_fill", lang))}{colon(lang)}'
                   f'</strong> {_e(", ".join(filling))}</div>')
    if p.not_checked:
        titles = ", ".join(c.title.get(lang) for c in p.not_checked)
        out.append(f'<div class="todo na">{_e(t("not_checked_controls", lang, titles=titles))}'
                   f'</div>')
    return "".join(out)


def _percent(rate: float, lang: str) -> str:
    value = round(rate * 100)
    return f"{value}%" if lang == "en" else f"{value}\u202f%"


def _axis_floor(rates: Sequence[float]) -> float:
    """The bottom of the y axis: the highest of 90, 80, 60 and 0 % that leaves the lowest
    rate some room, so that small changes near 100 % stay visible with round ticks."""
    lowest = min(rates) if rates else 0.0
    return next(f for f in (0.9, 0.8, 0.6, 0.0) if f <= lowest - 0.02 or f == 0.0)


def trend_svg(trend: Sequence[RunSummary], lang: str) -> str:
    """An inline SVG line chart of the compliance rate of ``trend`` (oldest first)."""
    points = [(s, float(s.compliance_rate)) for s in trend if s.compliance_rate is not None]
    width, height = 760, 240
    left, right, top, bottom, pad = 58, 24, 30, 44, 26
    plot_w, plot_h = width - left - right - 2 * pad, height - top - bottom
    floor = _axis_floor([r for _, r in points])
    label = t("trend_svg_label", lang)

    def y_of(rate: float) -> float:
        return top + plot_h * (1 - (rate - floor) / (1 - floor))

    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
              f'role="img" aria-label="{_e(label)}">'), f"<title>{_e(label)}</title>"]
    ticks = 4
    for i in range(ticks + 1):
        rate = floor + (1 - floor) * i / ticks
        y = y_of(rate)
        stroke = "#9aa3b2" if i in (0, ticks) else "#e1e5ea"
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
                     f'stroke="{stroke}" stroke-width="1"/>')
        parts.append(f'<text x="{left - 10}" y="{y + 4:.1f}" text-anchor="end" font-size="12" '
                     f'fill="#5b6474">{_e(_percent(rate, lang))}</text>')
    n = len(points)
    coords = [(left + pad + (plot_w / 2 if n == 1 else plot_w * i / (n - 1)), y_of(rate))
              for i, (_s, rate) in enumerate(points)]
    if n > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#1f5aa6" '
                     f'stroke-width="2.5" stroke-linejoin="round"/>')
    every = max(1, (n + 7) // 8)  # at most ~8 labels
    days = [s.started.astimezone().date() for s, _ in points]
    same_day = len(set(days)) < len(days)  # several runs a day: show the time too
    for i, ((s, rate), (x, y)) in enumerate(zip(points, coords, strict=True)):
        last = i == n - 1
        colour = "#17703a" if rate >= 0.9995 else "#1f5aa6"
        when = format_date(s.started, lang)
        failures = s.counts.get(Verdict.FAIL.value, 0)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{6 if last else 4}" '
                     f'fill="{colour}" stroke="#fff" stroke-width="1.5"><title>{_e(when)}'
                     f'{colon(lang)} {_e(_percent(rate, lang))} ({failures} '
                     f'{"failure(s)" if lang == "en" else "écart(s)"})</title></circle>')
        if last or (n - 1 - i) % every == 0:
            parts.append(f'<text x="{x:.1f}" y="{y - 12:.1f}" text-anchor="middle" '
                         f'font-size="{13 if last else 12}" font-weight="{700 if last else 400}" '
                         f'fill="#1d2330">{_e(_percent(rate, lang))}</text>')
            local = s.started.astimezone()
            short = local.strftime(("%m-%d" if lang == "en" else "%d/%m")
                                   + (" %H:%M" if same_day else ""))
            parts.append(f'<text x="{x:.1f}" y="{height - bottom + 20}" text-anchor="middle" '
                         f'font-size="12" fill="#5b6474">{_e(short)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _summary_section(model: ReportModel, lang: str) -> str:
    counts = model.status_counts()
    tiles = "".join(
        f'<div class="tile {key}"><div class="n">{counts[key]}</div>'
        f'<div class="l">{_e(plural(key, counts[key], lang).split(" ", 1)[1])}</div></div>'
        for key in ("compliant", "non_compliant", "excepted", "to_fill"))
    parts = [plural(s.value, counts[s.value], lang) for s in PointStatus if counts[s.value]]
    lead = t("summary_lead", lang, parts=enumerate_text(parts, lang))
    if counts["non_compliant"] or counts["to_fill"] or counts["incomplete"]:
        callout = f'<p class="callout">{_e(t("summary_action", lang))}</p>'
    else:
        callout = f'<p class="callout good">{_e(t("summary_ok", lang))}</p>'
    rows = []
    for p in model.points:
        rows.append(
            "<tr>"
            f'<td class="point"><span>{p.point}.</span>{_e(socle_title(p.point, lang))}</td>'
            f"<td>{_badge(p.status.value, _point_status_label(p, lang))}</td>"
            f'<td class="num">{_e(_hosts_cell(p, lang))}</td>'
            f"<td>{_e(explanation(p.point, lang))}{_todo(p, lang)}</td>"
            "</tr>")
    return (
        f'<section id="summary"><h2>{_e(t("summary_title", lang))}</h2>'
        f'<div class="tiles">{tiles}</div>'
        f'<p class="lead">{_e(lead)}</p>{callout}'
        f'<table class="summary"><thead><tr><th>{_e(t("col_point", lang))}</th>'
        f'<th>{_e(t("col_status", lang))}</th><th>{_e(t("col_hosts", lang))}</th>'
        f'<th>{_e(t("col_meaning", lang))}</th></tr></thead>'
        f'<tbody>{"".join(rows)}</tbody></table></section>')


def _trend_section(model: ReportModel, lang: str) -> str:
    usable = [s for s in model.trend if s.compliance_rate is not None]
    body = (f'<p class="muted">{_e(t("trend_none", lang))}</p>' if len(usable) < 2 else
            f'<p class="muted">{_e(t("trend_lead", lang, n=len(usable)))}</p>')
    return (f'<section id="trend" class="trend"><h2>{_e(t("trend_title", lang))}</h2>{body}'
            f"{trend_svg(model.trend, lang) if usable else ''}</section>")


def _exceptions_section(model: ReportModel, lang: str) -> str:
    head = (f'<section id="exceptions"><h2>{_e(t("exceptions_title", lang))}</h2>'
            f'<p class="muted">{_e(t("exceptions_lead", lang))}</p>')
    if not model.exceptions:
        return head + f'<p>{_e(t("exceptions_none", lang))}</p></section>'
    rows = []
    for r in model.exceptions:
        ex = r.exception
        assert ex is not None
        flag = ""
        if ex.expired:
            flag = f' <span class="flag">({_e(t("expired", lang))})</span>'
        elif ex.expires_soon:
            flag = f' <span class="warn">({_e(t("expires_soon", lang))})</span>'
        rows.append(
            f'<tr><td class="nowrap">{_e(_host_label(r.host, lang))}</td>'
            f'<td>{_e(control_title(r.result.control, lang))}<br>'
            f'<span class="muted">{_e(r.result.control)}</span></td>'
            f"<td>{_e(ex.reason)}</td><td>{_e(ex.approved_by or '—')}</td>"
            f"<td>{_e(format_date(ex.expires, lang))}{flag}</td></tr>")
    return (head + f'<table><thead><tr><th>{_e(t("col_host", lang))}</th>'
            f'<th>{_e(t("col_control", lang))}</th><th>{_e(t("col_reason", lang))}</th>'
            f'<th>{_e(t("col_approver", lang))}</th><th>{_e(t("col_expires", lang))}</th>'
            f'</tr></thead><tbody>{"".join(rows)}</tbody></table></section>')


def _age(row: Row, lang: str) -> str:
    ev = row.evidence
    if ev is None or ev.age_days is None:
        return "—"
    if ev.age_months:
        return t("age_months", lang, n=ev.age_months)
    return t("age_days", lang, n=ev.age_days)


def _evidence_section(model: ReportModel, lang: str) -> str:
    rows = []
    for r in model.evidence:
        ev = r.evidence
        assert ev is not None
        if ev.missing:
            state = _badge("v-to_fill", t("missing", lang))
        elif ev.stale:
            state = _badge("v-fail", t("stale", lang))
        else:
            state = _badge("v-pass", t("fresh", lang))
        note = "" if r.result.verdict is Verdict.PASS else (
            f'<br><span class="muted">{_e(translate(r.result.message, lang))}</span>'
            if r.result.message else "")
        rows.append(
            f'<tr class="row-{_e(r.status)}"><td>{_e(control_title(r.result.control, lang))}'
            f'<br><span class="muted">{_e(socle_title(r.socle, lang))}</span></td>'
            f"<td>{_e(format_date(ev.date, lang))}</td><td>{_e(ev.document or '—')}</td>"
            f'<td class="num">{_e(_age(r, lang))}</td><td>{state}{note}</td></tr>')
    if not rows:
        return ""
    return (f'<section id="evidence"><h2>{_e(t("evidence_title", lang))}</h2>'
            f'<p class="muted">{_e(t("evidence_lead", lang))}</p>'
            f'<table><thead><tr><th>{_e(t("col_item", lang))}</th>'
            f'<th>{_e(t("col_date", lang))}</th><th>{_e(t("col_document", lang))}</th>'
            f'<th>{_e(t("col_age", lang))}</th><th>{_e(t("col_status", lang))}</th></tr>'
            f'</thead><tbody>{"".join(rows)}</tbody></table></section>')


def _note(row: Row, lang: str) -> str:
    ex = row.exception
    if ex is not None:
        bits = [ex.reason]
        if ex.approved_by:
            bits.append(f"{t('col_approver', lang)}{colon(lang)} {ex.approved_by}")
        if ex.expires:
            bits.append(f"{t('col_expires', lang)}{colon(lang)} {format_date(ex.expires, lang)}")
        return _e(" — ".join(bits))
    if row.result.verdict is Verdict.PASS:
        return ""
    return _e(translate(row.result.message, lang))


def _details_section(model: ReportModel, lang: str) -> str:
    out = [f'<section id="details" class="page-break"><h2>{_e(t("details_title", lang))}</h2>']
    head = (f'<colgroup><col class="c-control"><col class="c-result"><col class="c-found">'
            f'<col class="c-expected"><col class="c-note"></colgroup>'
            f'<thead><tr><th>{_e(t("col_control", lang))}</th>'
            f'<th>{_e(t("col_result", lang))}</th><th>{_e(t("col_found", lang))}</th>'
            f'<th>{_e(t("col_expected", lang))}</th><th>{_e(t("col_note", lang))}</th>'
            f"</tr></thead>")
    for p in model.points:
        out.append(f'<div class="point" id="point-{p.point}"><div class="point-head">'
                   f"<h3>{p.point}. {_e(socle_title(p.point, lang))}</h3>"
                   f"{_badge(p.status.value, _point_status_label(p, lang))}</div>")
        if not p.rows:
            out.append(f'<p class="muted">{_e(t("no_rows", lang))}</p>')
        else:
            out.append(f'<table class="details">{head}<tbody>')
            for host in dict.fromkeys(r.host for r in p.rows):
                out.append(f'<tr class="host"><th colspan="5">{_e(_host_label(host, lang))}'
                           f"</th></tr>")
                for r in (r for r in p.rows if r.host == host):
                    title = control_title(r.result.control, lang)
                    out.append(
                        f'<tr class="row-{_e(r.status)}"><td>{_e(title)}<br>'
                        f'<span class="muted small">{_e(r.result.control)}</span></td>'
                        f"<td>{_row_badge(r, lang)}</td>"
                        f'<td class="val">{_e(value_text(r.result.found, lang))}</td>'
                        f'<td class="val">{_e(value_text(r.result.expected, lang))}</td>'
                        f'<td class="note">{_note(r, lang)}</td></tr>')
            out.append("</tbody></table>")
        if p.not_checked:
            titles = ", ".join(c.title.get(lang) for c in p.not_checked)
            note = t("not_checked_controls", lang, titles=titles)
            out.append(f'<p class="muted small">{_e(note)}</p>')
        out.append("</div>")
    out.append("</section>")
    return "".join(out)


def render_html(model: ReportModel, lang: str = "fr") -> str:
    res = model.result
    checked = format_datetime(res.started, lang)
    facts = [
        (t("site", lang), res.site),
        (t("checked_on", lang), checked),
        (t("hosts_checked", lang), str(len(model.hosts))),
        (t("baseline_version", lang), res.baseline_version),
    ]
    facts_html = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in facts)
    now = _dt.datetime.now().astimezone()
    run = (f" {_e(t('run_id', lang))} {model.run_id}." if model.run_id else "")
    title = f"{t('doc_title', lang)} — {res.site} — {format_date(res.started, lang)}"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{"en" if lang == "en" else "fr"}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f'<meta name="generator" content="esms-baseline {_e(__version__)}">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
        f'<header><p class="kicker">esms-baseline</p><h1>{_e(t("doc_title", lang))}</h1>'
        f'<p class="subtitle">{_e(t("doc_subtitle", lang))}</p>'
        f'<dl class="facts">{facts_html}</dl></header>'
        f"{_summary_section(model, lang)}{manual_html(model, lang)}{obsolete_section(model, lang)}"
        f"{providers_section(model, lang)}{_trend_section(model, lang)}"
        f"{_exceptions_section(model, lang)}{_evidence_section(model, lang)}"
        f"{scanner_html(model, lang)}"
        f"{_details_section(model, lang)}"
        f"<footer>{_e(t('generated', lang, date=format_datetime(now, lang), version=__version__))}"
        f" {_e(t('baseline_version', lang))}{colon(lang)} {_e(res.baseline_version)}.{run}"
        "</footer>"
        "</body></html>\n")
