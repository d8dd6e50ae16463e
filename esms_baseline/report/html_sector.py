"""HTML sections of the sector's controls: "Machines obsolètes" and "Accès des
prestataires" (esms_baseline.report.sector gives their content). Each section is left out
when the check has no row of its controls."""

from __future__ import annotations

import datetime as _dt
from html import escape

from esms_baseline.conformance.messages import translate
from esms_baseline.report.i18n import access_text, format_date, t
from esms_baseline.report.sector import (
    ProviderAccess,
    obsolete_hosts,
    provider_accesses,
    remote_tools,
)
from esms_baseline.report.summary import ReportModel


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def obsolete_section(model: ReportModel, lang: str) -> str:
    checked = any(r.result.control == "ESMS-UPD-04" for r in model.rows)
    if not checked:
        return ""
    head = (f'<section id="obsolete"><h2>{_e(t("obsolete_title", lang))}</h2>'
            f'<p class="muted">{_e(t("obsolete_lead", lang))}</p>')
    hosts = obsolete_hosts(model)
    if not hosts:
        return head + f'<p class="callout good">{_e(t("obsolete_none", lang))}</p></section>'
    rows = []
    for o in hosts:
        if o.until is None:
            support = t("support_unknown", lang)
        elif o.ended:
            support = t("support_ended", lang, date=format_date(o.until, lang))
        else:
            support = t("support_until", lang, date=format_date(o.until, lang))
        badge = "v-fail" if o.verdict == "fail" else "v-warning"
        plan = t(f"plan_{o.plan}", lang) if o.plan in ("upgrade", "replacement", "esu") else o.plan
        rows.append(f'<tr class="row-{_e(o.verdict)}"><td class="nowrap">{_e(o.host)}</td>'
                    f"<td>{_e(translate(o.release, lang))}</td>"
                    f'<td><span class="badge {badge}">{_e(support)}</span></td>'
                    f"<td>{_e(plan)}</td></tr>")
    return (head + f'<table><thead><tr><th>{_e(t("col_host", lang))}</th>'
            f'<th>{_e(t("col_release", lang))}</th><th>{_e(t("col_support", lang))}</th>'
            f'<th>{_e(t("col_plan", lang))}</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></section>')


def account_text(a: ProviderAccess, lang: str) -> str:
    """The state of a provider's account as read on the host, in ``lang``."""
    if a.locked is None:
        return translate(a.account, lang)
    state = t("account_locked" if a.locked else "account_usable", lang)
    try:
        day = _dt.date.fromisoformat(a.expires or "")
    except ValueError:
        return t("account_never", lang, state=state)
    return t("account_expires", lang, date=format_date(day, lang), state=state)


def providers_section(model: ReportModel, lang: str) -> str:
    accesses = provider_accesses(model)
    tools = remote_tools(model)
    if not accesses and not tools:
        return ""
    out = [(f'<section id="providers"><h2>{_e(t("providers_title", lang))}</h2>'
           f'<p class="muted">{_e(t("providers_lead", lang))}</p>')]
    if accesses:
        rows = []
        for a in accesses:
            state = (f'<span class="badge v-fail">{_e(t("access_ended", lang))}</span>'
                     if a.ended else
                     f'<span class="badge v-pass">{_e(t("access_active", lang))}</span>')
            rows.append(
                f"<tr><td>{_e(a.provider)}</td><td>{_e(a.contract)}</td>"
                f"<td>{_e(access_text(a.access, lang))}</td>"
                f"<td class=\"nowrap\">{_e(a.host)}</td>"
                f'<td class="val">{_e(a.login)}<br><span class="muted small">'
                f"{_e(account_text(a, lang))}</span></td>"
                f"<td>{_e(format_date(a.access_until, lang))} {state}</td></tr>")
        out.append(
            f'<table><thead><tr><th>{_e(t("col_provider", lang))}</th>'
            f'<th>{_e(t("col_contract", lang))}</th><th>{_e(t("col_access", lang))}</th>'
            f'<th>{_e(t("col_host", lang))}</th><th>{_e(t("col_account", lang))}</th>'
            f'<th>{_e(t("col_access_until", lang))}</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')
    if tools:
        items = "".join(
            f"<li>{_e(h)}: {_e(', '.join(found) or t('remote_tools_none', lang))}</li>"
            for h, found in sorted(tools.items()))
        out.append(f'<h3>{_e(t("remote_tools", lang))}</h3><ul>{items}</ul>')
    out.append("</section>")
    return "".join(out)
