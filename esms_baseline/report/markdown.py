"""The Markdown report: a compact summary (for a ticket, a wiki page or an e-mail)."""

from __future__ import annotations

from esms_baseline.report import recorded, sector
from esms_baseline.report.i18n import (
    access_text,
    colon,
    control_title,
    format_date,
    format_datetime,
    socle_title,
    t,
    value_text,
)
from esms_baseline.report.summary import PointStatus, PointSummary, ReportModel
from esms_baseline.results import SITE_HOST, Verdict


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _status(p: PointSummary, lang: str) -> str:
    if p.status is PointStatus.EXCEPTED and p.exception_until:
        return t("status_excepted_until", lang, date=format_date(p.exception_until, lang))
    return t(f"status_{p.status.value}", lang)


def _hosts(p: PointSummary, lang: str) -> str:
    if p.status is PointStatus.NOT_EVALUATED:
        return "—"
    if p.site_level:
        return t("whole_site", lang)
    return t("hosts_of", lang, n=len(p.hosts_concerned), total=len(p.hosts_checked))


def render_markdown(model: ReportModel, lang: str = "fr") -> str:
    res = model.result
    c = colon(lang)
    lines = [
        f"# {t('doc_title', lang)} — {res.site}",
        "",
        (f"{t('checked_on', lang)}{c} {format_datetime(res.started, lang)} · "
        f"{t('hosts_checked', lang)}{c} {len(model.hosts)} · "
        f"{t('baseline_version', lang)}{c} {res.baseline_version}"),
        "",
        f"## {t('summary_title', lang)}",
        "",
        f"| {t('col_point', lang)} | {t('col_status', lang)} | {t('col_hosts', lang)} |",
        "|---|---|---|",
    ]
    for p in model.points:
        lines.append(f"| {p.point}. {_cell(socle_title(p.point, lang))} | "
                     f"{_cell(_status(p, lang))} | {_cell(_hosts(p, lang))} |")
    failing = [r for r in model.rows if r.result.verdict is Verdict.FAIL]
    if failing:
        lines += ["", f"## {t('to_fix', lang)}", ""]
        for r in failing:
            host = t("whole_site", lang) if r.host == SITE_HOST else r.host
            lines.append(
                f"- **{host}** — {r.result.control} {control_title(r.result.control, lang)}"
                + (f" (**{t('verdict_manual', lang).lower()}**)" if r.manual else "")
                + f"{c} {t('col_found', lang).lower()} `{value_text(r.result.found, lang)}`, "
                f"{t('col_expected', lang).lower()} `{value_text(r.result.expected, lang)}`")
    obsolete = sector.obsolete_hosts(model)
    if obsolete:
        lines += ["", f"## {t('obsolete_title', lang)}", ""]
        for o in obsolete:
            until = format_date(o.until, lang)
            when = (t("support_unknown", lang) if o.until is None
                    else t("support_ended", lang, date=until) if o.ended
                    else t("support_until", lang, date=until))
            lines.append(f"- **{o.host}** — {value_text(o.release, lang)}{c} {when}; "
                         f"{t('col_plan', lang).lower()}{c} {t('plan_' + o.plan, lang)}")
    accesses = sector.provider_accesses(model)
    if accesses:
        lines += ["", f"## {t('providers_title', lang)}", ""]
        for a in accesses:
            state = t("access_ended", lang) if a.ended else t("access_active", lang)
            lines.append(f"- **{a.provider}** ({a.contract}, {access_text(a.access, lang)}) — {a.host} "
                         f"`{a.login}`{c} {format_date(a.access_until, lang)} ({state})")
    if model.exceptions:
        lines += ["", f"## {t('exceptions_title', lang)}", ""]
        for r in model.exceptions:
            ex = r.exception
            assert ex is not None
            host = t("whole_site", lang) if r.host == SITE_HOST else r.host
            flag = f" ({t('expired', lang)})" if ex.expired else ""
            lines.append(f"- **{host}** — {r.result.control}{c} {ex.reason} "
                         f"({t('col_approver', lang).lower()} {ex.approved_by or '—'}, "
                         f"{t('col_expires', lang).lower()} {format_date(ex.expires, lang)}"
                         f"{flag})")
    lines += recorded.markdown_lines(model, lang)
    lines.append("")
    return "\n".join(lines)
