"""Found and expected values as short human texts, in French (default) or English: the
values' strings through :func:`~esms_baseline.conformance.messages.translate`, their keys
through :func:`~esms_baseline.conformance.messages.key_text`. Used by the check's text
output and by every report format."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from esms_baseline.conformance.messages import key_text, translate


def value_text(value: Any, lang: str = "fr") -> str:
    """A found / expected value as a short human string."""
    en = lang == "en"
    if value is None:
        return "—"
    if isinstance(value, bool):
        return ("yes" if value else "no") if en else ("oui" if value else "non")
    if isinstance(value, str):
        return translate(value, lang)
    if isinstance(value, Mapping):
        return "; ".join(f"{key_text(str(k), lang)}: {value_text(v, lang)}"
                         for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        if not items:
            return "(none)" if en else "(aucun)"
        return ", ".join(value_text(v, lang) for v in items)
    return str(value)
