"""The fleet report: one page for the MSP, every site with its 8 socle points and its trend.

``fleet_model(history, sites)`` reads the latest recorded check of each site (the same
report model as a site's own report, :func:`esms_baseline.report.summary.build`);
``render_fleet_html`` gives one self-contained French (or English) HTML page (inline CSS, no
script, a Content-Security-Policy that forbids loading anything) whose rows link to each
site's own report (``<slug>.html`` next to it); ``fleet_document`` is the JSON form.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from esms_baseline import __version__
from esms_baseline.catalogue import SOCLE
from esms_baseline.history import History, RunSummary
from esms_baseline.report.i18n import format_datetime, socle_title, t
from esms_baseline.report.summary import PointStatus, ReportModel, build

FLEET_SCHEMA_VERSION = 1
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def site_slug(name: str) -> str:
    """A file name for a site's report: lower-case letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "site"


@dataclass(frozen=True)
class FleetSite:
    site: str
    model: ReportModel | None
    trend: tuple[RunSummary, ...]
    link: str

    @property
    def exit_code(self) -> int | None:
        return self.model.result.exit_code if self.model else None


def fleet_model(history: History, sites: Sequence[str] | None = None,
                trend_runs: int = 12) -> tuple[FleetSite, ...]:
    """Each site (``sites``, else every site of the history) with its latest check."""
    names = list(sites) if sites is not None else history.sites()
    used: set[str] = set()
    out = []
    for name in names:
        slug = site_slug(name)
        n = 2
        while slug in used:  # two names with the same slug still get two files
            slug, n = f"{site_slug(name)}-{n}", n + 1
        used.add(slug)
        latest = history.latest(name)
        runs = history.runs(name, limit=trend_runs)
        model = build(latest, runs) if latest is not None else None
        out.append(FleetSite(site=name, model=model, trend=tuple(reversed(runs)) if model else (),
                             link=f"{slug}.html"))
    return tuple(out)


def _point_statuses(model: ReportModel | None) -> dict[int, str]:
    if model is None:
        return {p: PointStatus.NOT_EVALUATED.value for p in sorted(SOCLE)}
    return {p.point: p.status.value for p in model.points}


def fleet_document(sites: Sequence[FleetSite]) -> dict[str, Any]:
    """The JSON form of the fleet report."""
    items = []
    for s in sites:
        m = s.model
        counts = dict(m.result.counts()) if m else {}
        items.append({
            "site": s.site,
            "report": s.link,
            "checked": m.result.started.isoformat() if m else None,
            "run_id": m.run_id if m else None,
            "hosts": list(m.hosts) if m else [],
            "exit_code": s.exit_code,
            "counts": counts,
            "points": {str(k): v for k, v in _point_statuses(m).items()},
            "trend": [{"run_id": r.run_id, "started": r.started.isoformat(),
                       "compliance_rate": r.compliance_rate} for r in s.trend],
        })
    return {"schema_version": FLEET_SCHEMA_VERSION, "generator": f"esms-baseline {__version__}",
            "generated": _dt.datetime.now(_dt.UTC).isoformat(), "sites": items}


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;margin:2rem}
h1{font-size:1.5rem;margin:0 0 .3rem} p.sub{color:#5b6474;margin:0 0 1.2rem}
table{border-collapse:collapse;width:100%} th,td{border:1px solid #d5d9e0;padding:.35rem .5rem;
text-align:center;font-size:.9rem} th{background:#f4f6f9} td.site{text-align:left}
.s-compliant{background:#e3f4e8;color:#17703a}.s-non_compliant{background:#fbe6e4;color:#b3261e}
.s-excepted{background:#e4edf9;color:#1f5aa6}.s-to_fill{background:#fdf0d8;color:#8a5300}
.s-incomplete{background:#ece8f6;color:#5b4a8a}.s-not_evaluated{background:#eceef2;color:#5b6474}
.legend span{display:inline-block;padding:.1rem .4rem;margin:.2rem;border-radius:.2rem}
@media print{body{margin:1cm} a{color:inherit;text-decoration:none}}
"""
_SHORT = {"compliant": "✔", "non_compliant": "✘", "excepted": "D", "to_fill": "?",
          "incomplete": "…", "not_evaluated": "–"}


def _spark(trend: Sequence[RunSummary]) -> str:
    """The compliance rates of the last runs as a small inline SVG (no external asset)."""
    rates = [r.compliance_rate for r in trend]
    pts = [(i, r) for i, r in enumerate(rates) if r is not None]
    if not pts:
        return "—"
    w, h = 120, 24
    step = w / max(len(rates) - 1, 1)
    coords = " ".join(f"{i * step:.1f},{h - 2 - r * (h - 4):.1f}" for i, r in pts)
    last = pts[-1][1]
    return (f'<svg width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" '
            f'aria-label="{last:.0%}"><polyline fill="none" stroke="#1f5aa6" stroke-width="2" '
            f'points="{coords}"/></svg> {last:.0%}')


def render_fleet_html(sites: Sequence[FleetSite], *, lang: str = "fr",
                      msp: str | None = None) -> str:
    """The fleet page: a row per site, a column per socle point, the trend, a link."""
    fr = lang != "en"
    e = escape
    points = sorted(SOCLE)
    head = "".join(f'<th title="{e(socle_title(p, lang))}">{p}</th>' for p in points)
    rows = []
    for s in sites:
        m = s.model
        statuses = _point_statuses(m)
        cells = "".join(
            f'<td class="s-{st}" title="{e(socle_title(p, lang))} : {e(t("status_" + st, lang))}">'
            f'{_SHORT[st]}<span hidden> {e(t("status_" + st, lang))}</span></td>'
            for p, st in statuses.items())
        when = format_datetime(m.result.started, lang) if m else (
            "jamais vérifié" if fr else "never checked")
        hosts = str(len(m.hosts)) if m else "—"
        link = f'<a href="{e(s.link)}">{e(s.site)}</a>' if m else e(s.site)
        rows.append(f'<tr><td class="site">{link}</td><td>{e(when)}</td><td>{hosts}</td>'
                    f'{cells}<td>{_spark(s.trend)}</td></tr>')
    legend = "".join(f'<span class="s-{st.value}">{_SHORT[st.value]} '
                     f'{e(t("status_" + st.value, lang))}</span>' for st in PointStatus)
    title = "Parc des établissements : socle de sécurité" if fr else "Sites: security baseline"
    sub = (f"{len(sites)} établissement(s)" if fr else f"{len(sites)} site(s)") + (
        f" — {e(msp)}" if msp else "")
    cols = ("Établissement", "Dernière vérification", "Hôtes", "Tendance") if fr else (
        "Site", "Last check", "Hosts", "Trend")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{"fr" if fr else "en"}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f'<meta name="generator" content="esms-baseline {e(__version__)}">'
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{e(title)}</h1><p class=\"sub\">{sub}</p>"
        f'<table><thead><tr><th>{cols[0]}</th><th>{cols[1]}</th><th>{cols[2]}</th>{head}'
        f"<th>{cols[3]}</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f'<p class="legend">{legend}</p>'
        "</body></html>\n"
    )


__all__ = ["FLEET_SCHEMA_VERSION", "FleetSite", "fleet_document", "fleet_model",
           "render_fleet_html", "site_slug"]
