"""An XCCDF 1.2 tailoring file generated from the site profile, so that the reference scanner
(OpenSCAP with ComplianceAsCode's ANSSI-BP-028 profile for Debian 12) judges each host
against the values the site chose, not the content's defaults.

One tailored profile per Debian host (hosts of a site may differ through groups): it
extends ``anssi_bp28_intermediary``, sets the rules' variables to the host's role variables
(the ones the roles and the check use) and selects the rules mapped in
``catalogue/scanner_map.yml``; rules of controls excepted on the host, or switched off by
the profile (no lockout, no history), are unselected. Use it with::

    oscap xccdf eval --tailoring-file tailoring.xml \\
        --profile xccdf_org.esms-baseline_profile_<host> /usr/share/xml/scap/ssg/content/ssg-debian12-ds.xml
"""

from __future__ import annotations

import datetime as _dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from esms_baseline.catalogue.scanner_map import RULE_PREFIX, ScannerMap, load_scanner_map
from esms_baseline.errors import ScannerError
from esms_baseline.plan import build_plan
from esms_baseline.profile.model import SiteProfile
from esms_baseline.scanner.content import HOST_DATASTREAM, VALUE_PREFIX, XCCDF_NS, Datastream

#: Our own XCCDF namespace part (reverse DNS of the project, as XCCDF 1.2 ids want).
ID_NAMESPACE = "org.esms-baseline"
TAILORING_ID = f"xccdf_{ID_NAMESPACE}_tailoring_site"

#: Role defaults (roles/*/defaults/main.yml) of the variables the plan does not pass;
#: tests/unit/test_scanner.py checks that they are equal.
ROLE_DEFAULTS: dict[str, int] = {
    "esms_passwords_lockout_interval_seconds": 900,
    "esms_passwords_history_size": 5,
    "esms_passwords_min_age_days": 1,
    "esms_passwords_warn_age_days": 7,
    "esms_session_lock_ssh_alive_interval_seconds": 300,
    "esms_session_lock_ssh_alive_count_max": 3,
}
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_CLASSES = {"upper": "ucredit", "lower": "lcredit", "digit": "dcredit", "special": "ocredit"}
#: Characters outside XML 1.0's Char production (ElementTree writes them raw, ill-formed).
_XML_INVALID = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_FAILLOCK_RULES = ("accounts_passwords_pam_faillock_deny",
                   "accounts_passwords_pam_faillock_unlock_time",
                   "accounts_passwords_pam_faillock_interval")


def _int(v: Mapping[str, Any], name: str) -> int:
    value = v.get(name)
    if value is None:
        value = ROLE_DEFAULTS.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScannerError(f"role variable {name} is {value!r}, not an integer")
    return value


def scanner_values(v: Mapping[str, Any]) -> dict[str, str]:
    """ComplianceAsCode value id (short) -> the host's value, from its role variables."""
    classes = set(v.get("esms_passwords_required_classes") or ())
    idle_seconds = _int(v, "esms_session_lock_idle_minutes") * 60
    admin_max = _int(v, "esms_passwords_admin_max_age_days")
    method = str(v.get("esms_passwords_hash_method") or "yescrypt")
    if method not in ("yescrypt", "sha512"):
        raise ScannerError(f"hash method {method!r}: yescrypt or sha512 expected")
    values: dict[str, int | str] = {
        "var_password_pam_minlen": _int(v, "esms_passwords_min_length"),
        "var_password_pam_minclass": _int(v, "esms_passwords_min_classes"),
        **{f"var_password_pam_{credit}": (-1 if cls in classes else 0)
           for cls, credit in _CLASSES.items()},
        "var_accounts_passwords_pam_faillock_deny": _int(v, "esms_passwords_lockout_threshold"),
        "var_accounts_passwords_pam_faillock_unlock_time":
            _int(v, "esms_passwords_lockout_unlock_minutes") * 60,
        "var_accounts_passwords_pam_faillock_fail_interval":
            _int(v, "esms_passwords_lockout_interval_seconds"),
        "var_password_hashing_algorithm": method.upper(),
        "var_password_hashing_algorithm_pam": method,
        "var_accounts_maximum_age_root": admin_max if admin_max > 0 else 99999,
        "var_password_pam_unix_remember": _int(v, "esms_passwords_history_size"),
        "var_accounts_minimum_age_login_defs": _int(v, "esms_passwords_min_age_days"),
        "var_accounts_password_warn_age_login_defs": _int(v, "esms_passwords_warn_age_days"),
        # seconds, whatever the content's titles say ("10_min" selects 600)
        "var_accounts_tmout": idle_seconds,
        "var_logind_session_timeout": idle_seconds,
        # ClientAliveInterval must be at most this: the site's idle time
        "sshd_idle_timeout_value": idle_seconds,
        "var_sshd_set_keepalive": _int(v, "esms_session_lock_ssh_alive_count_max"),
    }
    return {k: str(val) for k, val in values.items()}


def profile_id(host: str) -> str:
    """The tailored profile's XCCDF id for a host (characters outside [A-Za-z0-9_.-] -> -)."""
    return f"xccdf_{ID_NAMESPACE}_profile_" + re.sub(r"[^A-Za-z0-9_.-]", "-", host)


@dataclass(frozen=True)
class TailoredProfile:
    host: str
    id: str
    values: dict[str, str]
    selected: tuple[str, ...]
    unselected: tuple[str, ...]


def tailor_host(host: str, variables: Mapping[str, Any],
                scanner_map: ScannerMap | None = None) -> TailoredProfile:
    """The tailored profile of one host from its role variables (``HostPlan.vars``)."""
    smap = scanner_map or load_scanner_map()
    excepted = set(variables.get("esms_excepted_controls") or ())
    off: set[str] = set()
    if _int(variables, "esms_passwords_lockout_threshold") == 0:
        off.update(_FAILLOCK_RULES)
    if _int(variables, "esms_passwords_history_size") == 0:
        off.add("accounts_password_pam_unix_remember")
    if not str(variables.get("esms_banner_text") or "").strip():
        off.add("sshd_enable_warning_banner_net")
    selected: list[str] = []
    unselected: list[str] = []
    for r in smap.rules:
        target = unselected if (r.control in excepted or r.rule in off) else selected
        if r.rule not in target:
            target.append(r.rule)
    selected = [r for r in selected if r not in unselected]
    return TailoredProfile(host, profile_id(host), scanner_values(variables),
                           tuple(selected), tuple(unselected))


def check_ids(profiles: Sequence[TailoredProfile], datastream: Datastream,
              base_profile: str) -> None:
    """Refuse a tailoring naming a rule, value or profile the datastream does not have."""
    missing: list[str] = []
    if base_profile not in datastream.profiles:
        missing.append(f"profile {base_profile}")
    for p in profiles:
        missing += [f"rule {r}" for r in (*p.selected, *p.unselected) if r not in datastream.rules]
        missing += [f"value {k}" for k in p.values if k not in datastream.values]
    if missing:
        raise ScannerError(f"{datastream.path}: not in the datastream: "
                           + ", ".join(sorted(set(missing))))


def tailoring_xml(profiles: Sequence[TailoredProfile], *, site_name: str,
                  base_profile_id: str, benchmark_href: str = HOST_DATASTREAM,
                  now: _dt.datetime | None = None) -> str:
    """The XCCDF 1.2 Tailoring document (NIST IR 7275r4, 6.7) for ``profiles``."""
    if not profiles:
        raise ScannerError("no Debian host to tailor the scanner's profile for")
    for text in (site_name, *(p.host for p in profiles)):
        if _XML_INVALID.search(text):
            raise ScannerError(f"{text!r} holds a character XML cannot hold (a control "
                               "character): the tailoring cannot name it")
    ids = [p.id for p in profiles]
    if len(set(ids)) != len(ids):
        raise ScannerError("two hosts give the same tailored profile id: " + ", ".join(ids))
    x = "{" + XCCDF_NS + "}"
    ET.register_namespace("xccdf", XCCDF_NS)
    when = (now or _dt.datetime.now(_dt.UTC)).replace(microsecond=0)
    root = ET.Element(x + "Tailoring", {"id": TAILORING_ID})
    ET.SubElement(root, x + "benchmark", {"href": benchmark_href})
    ET.SubElement(root, x + "version", {"time": when.isoformat()}).text = "1"
    for p in profiles:
        prof = ET.SubElement(root, x + "Profile", {"id": p.id, "extends": base_profile_id})
        ET.SubElement(prof, x + "title", {_XML_LANG: "fr-FR"}).text = (
            f"ANSSI-BP-028 adapté au profil du site {site_name} ({p.host})")
        ET.SubElement(prof, x + "description", {_XML_LANG: "fr-FR"}).text = (
            "Généré par esms-baseline export tailoring : valeurs du profil de site, règles "
            "correspondant aux contrôles du catalogue (scanner_map.yml).")
        for rule in p.selected:
            ET.SubElement(prof, x + "select", {"idref": RULE_PREFIX + rule, "selected": "true"})
        for rule in p.unselected:
            ET.SubElement(prof, x + "select", {"idref": RULE_PREFIX + rule, "selected": "false"})
        for value_id, value in sorted(p.values.items()):
            ET.SubElement(prof, x + "set-value", {"idref": VALUE_PREFIX + value_id}).text = value
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=False).join(
        ('<?xml version="1.0" encoding="UTF-8"?>\n', "\n"))


def export_tailoring(profile: SiteProfile, *, host: str | None = None,
                     inventory: Path | None = None, datastream: Datastream | None = None,
                     now: _dt.datetime | None = None) -> str:
    """The tailoring file of a site (every Debian host, or only ``host``), checked against
    ``datastream`` when given (every rule, value and profile it names must exist)."""
    # the host by its exact name, not as a --limit (which splits ``2001:db8::5`` on ``:``)
    plan = build_plan(profile, inventory=inventory)
    hosts = [h for h in plan.hosts if h.platform == "debian" and host in (None, h.name)]
    if host is not None and not hosts:
        raise ScannerError(f"{host}: not a Debian host of the site (the scanner's content "
                           "is for Debian 12)")
    smap = load_scanner_map()
    profiles = [tailor_host(h.name, h.vars, smap) for h in hosts]
    if datastream is not None:
        check_ids(profiles, datastream, smap.base_profile)
    return tailoring_xml(profiles, site_name=profile.site.name,
                         base_profile_id=smap.base_profile_id, now=now)
