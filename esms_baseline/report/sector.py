"""The report's sections for the sector's controls, read from the check's rows:

- obsolete machines (ESMS-UPD-04 failing or warning): which machines, since or until when,
  what to plan (upgrade, replacement, extended security updates): a budget decision;
- providers' accesses (ESMS-PRV-01 rows): per provider, its contract, access method,
  named accounts per host and the end of access, ended or not; and the remote-control
  software found (ESMS-PRV-02).

Pure functions of the :class:`ReportModel` (no profile needed: the rows carry it), shared by
the HTML, JSON and Markdown renderers.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

from esms_baseline.report.summary import ReportModel
from esms_baseline.results import Verdict


@dataclass(frozen=True)
class ObsoleteHost:
    host: str
    release: str
    #: last day of security updates (None: release unknown)
    until: _dt.date | None
    ended: bool
    #: upgrade, replacement, esu
    plan: str
    verdict: str


@dataclass(frozen=True)
class ProviderAccess:
    provider: str
    contract: str
    access: str
    host: str
    login: str
    access_until: _dt.date | None
    ended: bool
    account: str
    #: the account's expiry day as read ("never" or YYYY-MM-DD) and whether it is locked;
    #: None when the account was not read (absent)
    expires: str | None = None
    locked: bool | None = None


def _date(text: Any) -> _dt.date | None:
    try:
        return _dt.date.fromisoformat(str(text))
    except ValueError:
        return None


def obsolete_hosts(model: ReportModel) -> tuple[ObsoleteHost, ...]:
    out = []
    for r in model.rows:
        res = r.result
        if res.control != "ESMS-UPD-04" or res.verdict not in (Verdict.FAIL, Verdict.WARNING):
            continue
        found = res.found if isinstance(res.found, dict) else {}
        until = _date(found.get("security_updates_until"))
        out.append(ObsoleteHost(
            host=res.host, release=str(found.get("release") or "?"), until=until,
            ended=res.verdict is Verdict.FAIL and until is not None,
            plan=str(found.get("plan") or "upgrade"), verdict=res.verdict.value))
    return tuple(sorted(out, key=lambda o: (o.until or _dt.date.min, o.host)))


def provider_accesses(model: ReportModel) -> tuple[ProviderAccess, ...]:
    out = []
    for r in model.rows:
        res = r.result
        if res.control != "ESMS-PRV-01" or not isinstance(res.expected, dict):
            continue
        found = res.found if isinstance(res.found, dict) else {}
        for login, exp in res.expected.items():
            if not isinstance(exp, dict) or exp.get("reaches_host") is False:
                continue  # a host the provider does not reach is no access of its
            state = found.get(login)
            account = (state if isinstance(state, str)
                       else f"expires {state.get('expires')}, "
                            f"{'locked' if state.get('locked') else 'usable'}"
                       if isinstance(state, dict) else "?")
            until = _date(exp.get("access_until"))
            out.append(ProviderAccess(
                provider=str(exp.get("provider") or "?"), contract=str(exp.get("contract") or ""),
                access=str(exp.get("access") or ""), host=res.host, login=str(login),
                access_until=until,
                ended=until is not None and until < model.result.started.date(),
                account=account,
                expires=str(state.get("expires")) if isinstance(state, dict) else None,
                locked=bool(state.get("locked")) if isinstance(state, dict) else None))
    return tuple(sorted(out, key=lambda a: (a.provider, a.host, a.login)))


def remote_tools(model: ReportModel) -> dict[str, list[str]]:
    """host -> remote-control software found (ESMS-PRV-02 rows)."""
    out: dict[str, list[str]] = {}
    for r in model.rows:
        if r.result.control == "ESMS-PRV-02" and isinstance(r.result.found, dict):
            out[r.result.host] = sorted(r.result.found)
    return out


def to_json(model: ReportModel) -> dict[str, Any]:
    return {
        "obsolete_hosts": [
            {"host": o.host, "release": o.release,
             "security_updates_until": o.until.isoformat() if o.until else None,
             "ended": o.ended, "plan": o.plan, "verdict": o.verdict}
            for o in obsolete_hosts(model)],
        "provider_accesses": [
            {"provider": a.provider, "contract": a.contract, "access": a.access,
             "host": a.host, "login": a.login,
             "access_until": a.access_until.isoformat() if a.access_until else None,
             "ended": a.ended, "account": a.account}
            for a in provider_accesses(model)],
    }
