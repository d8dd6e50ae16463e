"""Reports of a check: HTML for the director, JSON for tools, JUnit XML for CI, Markdown.

``render(result, format, lang=..., history=...)`` renders a :class:`CheckResult`; the
optional ``history`` (earlier :class:`~esms_baseline.history.RunSummary` s of the site, any
order) feeds the compliance trend. Every format is built from the same model
(:func:`esms_baseline.report.summary.build`). See docs/report.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from esms_baseline.errors import EsmsError
from esms_baseline.history import ApplyRecord, RunSummary, ScanRecord
from esms_baseline.report.html import render_html
from esms_baseline.report.json_ import SCHEMA_VERSION, render_json, to_document
from esms_baseline.report.junit import render_junit
from esms_baseline.report.markdown import render_markdown
from esms_baseline.report.summary import ReportModel, build
from esms_baseline.results import CheckResult

_RENDERERS: dict[str, Callable[[ReportModel, str], str]] = {
    "html": render_html,
    "json": render_json,
    "junit": render_junit,
    "md": render_markdown,
}
FORMATS: tuple[str, ...] = tuple(_RENDERERS)
LANGS: tuple[str, ...] = ("fr", "en")


class ReportError(EsmsError):
    """An unknown report format or language."""


def render(
    result: CheckResult,
    format: str = "html",
    *,
    lang: str = "fr",
    history: Sequence[RunSummary] | None = None,
    recorded: tuple[ScanRecord | None, ApplyRecord | None] | None = None,
) -> str:
    """``result`` as a report in ``format`` (html, json, junit, md) and ``lang`` (fr, en).
    ``recorded``: the site's latest scanner agreement and apply from the history (each None
    if there is none): the report then shows them (or says there is none)."""
    renderer = _RENDERERS.get(format)
    if renderer is None:
        raise ReportError(f"unknown report format {format!r} (one of {', '.join(FORMATS)})")
    if lang not in LANGS:
        raise ReportError(f"unknown language {lang!r} (fr or en)")
    return renderer(build(result, history, recorded=recorded), lang)


__all__ = ["FORMATS", "LANGS", "SCHEMA_VERSION", "ReportError", "ReportModel", "build", "render",
           "to_document"]
