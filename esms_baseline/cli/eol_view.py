"""``esms-baseline controls --eol``: the end-of-support table (catalogue/eol.yml) and its
age, as text or JSON. Returns strings; the command prints them."""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

from esms_baseline.catalogue.eol import EolTable, load_eol

#: The table must be re-checked against its sources at least this often.
MAX_AGE_DAYS = 365


def eol_document(table: EolTable, today: _dt.date) -> dict[str, Any]:
    return {
        "newest_check": table.newest_check.isoformat(),
        "oldest_check": table.oldest_check.isoformat(),
        "age_days": (today - table.newest_check).days,
        "stale": (today - table.newest_check).days > MAX_AGE_DAYS,
        "debian": [
            {"version": d.version, "codename": d.codename, "regular_end": d.regular_end.isoformat(),
             "lts_end": d.lts_end.isoformat(), "source": d.source, "checked": d.checked.isoformat()}
            for d in table.debian],
        "windows": [
            {"product": w.product, "version": w.version, "build": w.build,
             "editions": w.editions, "end": w.end.isoformat(),
             "esu": {k: v.isoformat() for k, v in w.esu.items()}, "source": w.source,
             "esu_source": w.esu_source, "checked": w.checked.isoformat()}
            for w in table.windows],
    }


def eol_text(today: _dt.date | None = None, lang: str = "fr", as_json: bool = False) -> str:
    today = today or _dt.date.today()
    table = load_eol()
    doc = eol_document(table, today)
    if as_json:
        return json.dumps(doc, ensure_ascii=False, indent=2)
    en = lang == "en"

    def state(end: _dt.date) -> str:
        if end < today:
            return "ended" if en else "terminé"
        return f"{(end - today).days} d" if en else f"{(end - today).days} j"

    out = [("End of security support (catalogue/eol.yml), checked "
            if en else "Fins de maintenance (catalogue/eol.yml), vérifiées le ")
           + f"{doc['newest_check']} ({doc['age_days']} "
           + ("days ago" if en else "jours)") + (")" if en else "")]
    if doc["stale"]:
        out.append("WARNING: older than a year: re-check every date against its source"
                   if en else "ATTENTION : plus d'un an : revérifier chaque date à sa source")
    out += ["", "Debian:" if en else "Debian :"]
    for d in table.debian:
        regular = "regular" if en else "régulier"
        out.append(f"  {d.version:<3} {d.codename:<9} {regular} {d.regular_end} ({state(d.regular_end)}), "
                   f"LTS {d.lts_end} ({state(d.lts_end)})  {d.source}")
    out += ["", "Windows:" if en else "Windows :"]
    for w in table.windows:
        esu = ", ".join(f"ESU {k} {v}" for k, v in w.esu.items())
        out.append(f"  {w.name:<40} build {w.build:<5} {w.editions:<20} {w.end} ({state(w.end)})"
                   f"{'  ' + esu if esu else ''}  {w.source}")
    return "\n".join(out)
