"""The JSON report: a versioned document for other tools.

Its schema is ``schemas/check-report.schema.json`` (JSON Schema 2020-12). Keys and codes are
in English and stable within a ``schema_version``; only the human texts (titles, labels,
explanations) follow ``lang``. A change that removes or renames a key bumps the version.
"""

from __future__ import annotations

import json
from typing import Any

from esms_baseline import __version__
from esms_baseline.conformance.messages import translate
from esms_baseline.report import recorded, sector
from esms_baseline.report.i18n import control_title, explanation, socle_title, t, value_text
from esms_baseline.report.summary import PointSummary, ReportModel, Row

SCHEMA_ID = "https://esms-baseline.invalid/schemas/check-report.schema.json"
SCHEMA_VERSION = 1


def _point(p: PointSummary, lang: str) -> dict[str, Any]:
    return {
        "point": p.point,
        "title": socle_title(p.point, lang),
        "status": p.status.value,
        "status_label": t(f"status_{p.status.value}", lang),
        "explanation": explanation(p.point, lang),
        "site_level": p.site_level,
        "hosts_checked": list(p.hosts_checked),
        "hosts_concerned": list(p.hosts_concerned),
        "exception_until": p.exception_until.isoformat() if p.exception_until else None,
        "controls": [c.id for c in p.controls],
        "controls_not_checked": [c.id for c in p.not_checked],
    }


def _row(r: Row, lang: str) -> dict[str, Any]:
    ex, ev = r.exception, r.evidence
    return {
        "host": r.result.host,
        "control": r.result.control,
        "title": control_title(r.result.control, lang),
        "socle": r.socle or None,
        "verdict": r.result.verdict.value,
        "status": r.status,
        "found": _jsonable(r.result.found),
        "expected": _jsonable(r.result.expected),
        "message": r.result.message,
        # the same in ``lang`` for a person (found / expected stay data, message stays code)
        "found_text": value_text(r.result.found, lang),
        "expected_text": value_text(r.result.expected, lang),
        "message_text": translate(r.result.message, lang),
        "exception": None if ex is None else {
            "reason": ex.reason,
            "approved_by": ex.approved_by,
            "expires": ex.expires.isoformat() if ex.expires else None,
            "expired": ex.expired,
        },
        "evidence": None if ev is None else {
            "date": ev.date.isoformat() if ev.date else None,
            "document": ev.document,
            "age_days": ev.age_days,
            "stale": ev.stale,
            "missing": ev.missing,
        },
    }


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def to_document(model: ReportModel, lang: str = "fr") -> dict[str, Any]:
    """The report as a JSON-ready dict (see the schema)."""
    res = model.result
    return {
        "$schema": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "esms-baseline", "version": __version__},
        "lang": "en" if lang == "en" else "fr",
        "site": res.site,
        "run_id": model.run_id,
        "started": res.started.isoformat(),
        "finished": res.finished.isoformat(),
        "baseline_version": res.baseline_version,
        "hosts": list(model.hosts),
        "exit_code": res.exit_code,
        "counts": dict(sorted(res.counts().items())),
        "socle": [_point(p, lang) for p in model.points],
        "results": [_row(r, lang) for r in model.rows],
        **sector.to_json(model),
        **recorded.to_json(model),
        "trend": [
            {"run_id": s.run_id, "started": s.started.isoformat(),
             "compliance_rate": s.compliance_rate, "exit_code": s.exit_code,
             "counts": dict(sorted(s.counts.items()))}
            for s in model.trend
        ],
    }


def render_json(model: ReportModel, lang: str = "fr") -> str:
    return json.dumps(to_document(model, lang), ensure_ascii=False, indent=2) + "\n"
