"""The control catalogue: every control of the baseline, loaded from ``controls.yml``.

This is the single source of truth that links a control id to its socle point, references,
profile parameters, enforcing role and tag, and conformance test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

from esms_baseline.errors import CatalogueError

_HERE = Path(__file__).resolve().parent
CONTROL_ID_RE = re.compile(r"^ESMS-[A-Z]{2,4}-\d{2}$")
PLATFORMS = ("debian", "windows")
AREAS = (
    "updates",
    "firewall",
    "antivirus",
    "backup",
    "session_lock",
    "passwords",
    "accounts",
    "banner",
    "organisation",
    "providers",
)

#: The 8 points of the "socle de base" (Instruction N° SG/HFDS/DGCS/2017/219).
SOCLE: dict[int, dict[str, str]] = {
    1: {"fr": "Mises à jour régulières des logiciels", "en": "Regular software updates"},
    2: {"fr": "Antivirus à jour et pare-feu", "en": "Up-to-date antivirus and a firewall"},
    3: {"fr": "Sauvegardes avec copies externalisées", "en": "Backups with off-site copies"},
    4: {"fr": "Verrouillage automatique des sessions", "en": "Automatic session lock"},
    5: {
        "fr": "Comptes individuels et mots de passe robustes",
        "en": "Individual accounts and strong passwords",
    },
    6: {"fr": "Procédures minimales de fonctionnement dégradé", "en": "Degraded-mode procedures"},
    7: {"fr": "Sensibilisation du personnel", "en": "Staff security awareness"},
    8: {"fr": "Charte d'usage informatique", "en": "Internal IT usage charter"},
}

Status = Literal["implemented", "planned"]
Kind = Literal["automated", "organisational"]


@dataclass(frozen=True)
class Text:
    fr: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.fr


@dataclass(frozen=True)
class Parameter:
    name: str
    profile_path: str
    type: str
    description: str
    unit: str | None = None
    default: Any = None
    enum: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Control:
    id: str
    socle: int
    area: str
    kind: Kind
    title: Text
    rationale: Text
    role: str | None
    platforms: dict[str, Status]
    anssi: tuple[int, ...]
    cnil: str | None
    parameters: tuple[Parameter, ...] = ()
    manual_note: Text | None = None
    #: other references: texts of the sector (circular, ESMS numérique, PGSSI-S)
    other_refs: tuple[str, ...] = ()

    @property
    def tag(self) -> str:
        """The Ansible tag on every task that enforces this control."""
        return self.id

    @property
    def test_name(self) -> str:
        """The name of the conformance test function that checks this control."""
        return "test_" + self.id.replace("-", "_")

    def implemented_on(self, platform: str) -> bool:
        return self.platforms.get(platform) == "implemented"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "socle": self.socle,
            "socle_title": SOCLE[self.socle],
            "area": self.area,
            "kind": self.kind,
            "title": {"fr": self.title.fr, "en": self.title.en},
            "rationale": {"fr": self.rationale.fr, "en": self.rationale.en},
            "manual_note": (
                {"fr": self.manual_note.fr, "en": self.manual_note.en} if self.manual_note else None
            ),
            "references": {"anssi": list(self.anssi), "cnil": self.cnil,
                           "other": list(self.other_refs)},
            "platforms": dict(self.platforms),
            "role": self.role,
            "tag": self.tag if self.role else None,
            "test": self.test_name,
            "parameters": [
                {
                    "name": p.name,
                    "profile_path": p.profile_path,
                    "type": p.type,
                    "unit": p.unit,
                    "default": p.default,
                    "enum": list(p.enum) if p.enum else None,
                    "description": p.description,
                }
                for p in self.parameters
            ],
        }


@dataclass(frozen=True)
class Preset:
    name: str
    cnil_case: int
    entropy_bits: int
    description: Text
    min_length: int
    required_classes: tuple[str, ...]
    min_classes: int
    lockout_threshold: int | None
    lockout_unlock_minutes: int | None


@dataclass(frozen=True)
class Catalogue:
    controls: tuple[Control, ...]
    presets: dict[str, Preset] = field(default_factory=dict)

    def __iter__(self) -> Any:
        return iter(self.controls)

    def __len__(self) -> int:
        return len(self.controls)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.controls)

    def get(self, control_id: str) -> Control:
        for c in self.controls:
            if c.id == control_id:
                return c
        raise KeyError(control_id)

    def by_socle(self, point: int) -> tuple[Control, ...]:
        return tuple(c for c in self.controls if c.socle == point)

    def for_platform(self, platform: str) -> tuple[Control, ...]:
        return tuple(c for c in self.controls if c.implemented_on(platform))


def _text(raw: Any, where: str) -> Text:
    if not isinstance(raw, dict) or not raw.get("fr") or not raw.get("en"):
        raise CatalogueError(f"{where}: needs a French and an English text")
    return Text(fr=str(raw["fr"]).strip(), en=str(raw["en"]).strip())


def _control(raw: dict[str, Any]) -> Control:
    cid = str(raw.get("id", ""))
    if not CONTROL_ID_RE.match(cid):
        raise CatalogueError(f"control id {cid!r} is not of the form ESMS-XXX-NN")
    socle = raw.get("socle")
    if socle not in SOCLE:
        raise CatalogueError(f"{cid}: socle must be 1 to 8, not {socle!r}")
    if raw.get("area") not in AREAS:
        raise CatalogueError(f"{cid}: unknown area {raw.get('area')!r}")
    kind = raw.get("kind")
    if kind not in ("automated", "organisational"):
        raise CatalogueError(f"{cid}: kind must be automated or organisational")
    platforms = raw.get("platforms") or {}
    for plat, status in platforms.items():
        if plat not in PLATFORMS or status not in ("implemented", "planned"):
            raise CatalogueError(f"{cid}: bad platform entry {plat}: {status}")
    if kind == "automated" and (not platforms or not raw.get("role")):
        raise CatalogueError(f"{cid}: an automated control needs platforms and a role")
    if kind == "organisational" and not raw.get("manual_note"):
        raise CatalogueError(f"{cid}: an organisational control needs a manual_note saying why")
    refs = raw.get("references") or {}
    params = tuple(
        Parameter(
            name=p["name"],
            profile_path=p["profile_path"],
            type=p["type"],
            description=p.get("description", ""),
            unit=p.get("unit"),
            default=p.get("default"),
            enum=tuple(p["enum"]) if p.get("enum") else None,
        )
        for p in raw.get("parameters") or []
    )
    return Control(
        id=cid,
        socle=int(socle),
        area=str(raw["area"]),
        kind=kind,
        title=_text(raw.get("title"), f"{cid}.title"),
        rationale=_text(raw.get("rationale"), f"{cid}.rationale"),
        role=raw.get("role"),
        platforms=dict(platforms),
        anssi=tuple(int(n) for n in refs.get("anssi") or ()),
        cnil=refs.get("cnil"),
        parameters=params,
        manual_note=_text(raw["manual_note"], f"{cid}.manual_note") if raw.get("manual_note") else None,
        other_refs=tuple(str(r) for r in refs.get("other") or ()),
    )


def _preset(name: str, raw: dict[str, Any]) -> Preset:
    lockout = raw.get("lockout") or {}
    return Preset(
        name=name,
        cnil_case=int(raw["cnil_case"]),
        entropy_bits=int(raw["entropy_bits"]),
        description=_text(raw.get("description"), f"preset {name}"),
        min_length=int(raw["min_length"]),
        required_classes=tuple(raw.get("required_classes") or ()),
        min_classes=int(raw["min_classes"]),
        lockout_threshold=lockout.get("threshold"),
        lockout_unlock_minutes=lockout.get("unlock_minutes"),
    )


@cache
def load_catalogue() -> Catalogue:
    """Load and check the catalogue shipped with the package."""
    with open(_HERE / "controls.yml", encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    controls = tuple(_control(c) for c in raw["controls"])
    seen: set[str] = set()
    for c in controls:
        if c.id in seen:
            raise CatalogueError(f"duplicate control id {c.id}")
        seen.add(c.id)
    missing = set(SOCLE) - {c.socle for c in controls}
    if missing:
        raise CatalogueError(f"no control for socle point(s) {sorted(missing)}")
    with open(_HERE / "presets.yml", encoding="utf-8") as f:
        praw = yaml.safe_load(f)
    presets = {name: _preset(name, p) for name, p in praw["presets"].items()}
    return Catalogue(controls=controls, presets=presets)
