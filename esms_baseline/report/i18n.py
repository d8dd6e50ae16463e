"""Texts of the reports and of the drift summary, in French (default) and English.

Socle point titles and control titles come from the catalogue (single source of truth); this
module holds the rest: labels, short explanations for a director, value and date formats.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from esms_baseline.catalogue import SOCLE, load_catalogue
from esms_baseline.conformance.values_text import value_text as _value_text

LANGS = ("fr", "en")
#: found / expected values as short human texts (esms_baseline.conformance.values_text)
value_text = _value_text


_MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
              "septembre", "octobre", "novembre", "décembre")

TEXTS: dict[str, dict[str, str]] = {
    # -- document ------------------------------------------------------------------------
    "doc_title": {"fr": "Rapport de conformité au socle de sécurité",
                  "en": "Security baseline conformance report"},
    "doc_subtitle": {
        "fr": "Socle de base de sécurité des systèmes d'information des établissements "
              "médico-sociaux (instruction SG/HFDS/DGCS/2017/219 du 4 juillet 2017)",
        "en": "Baseline security measures for medico-social establishments "
              "(instruction SG/HFDS/DGCS/2017/219 of 4 July 2017)"},
    "site": {"fr": "Établissement", "en": "Establishment"},
    "site_label": {"fr": "Établissement (éléments organisationnels)",
                   "en": "Establishment (organisational evidence)"},
    "checked_on": {"fr": "Vérification du", "en": "Checked on"},
    "hosts_checked": {"fr": "Machines vérifiées", "en": "Hosts checked"},
    "baseline_version": {"fr": "Version du référentiel", "en": "Baseline version"},
    "run_id": {"fr": "Vérification n°", "en": "Run #"},
    "generated": {"fr": "Rapport produit le {date} par esms-baseline {version}.",
                  "en": "Report produced on {date} by esms-baseline {version}."},
    # -- summary -------------------------------------------------------------------------
    "summary_title": {"fr": "Synthèse pour la direction", "en": "Summary for the director"},
    "summary_lead": {"fr": "Sur les 8 points du socle\u00a0: {parts}.",
                     "en": "Of the 8 points of the baseline: {parts}."},
    "and": {"fr": "et", "en": "and"},
    "summary_ok": {"fr": "Aucun écart n'a été constaté lors de cette vérification.",
                   "en": "No deviation was found by this check."},
    "summary_action": {
        "fr": "Des écarts demandent une action de l'infogérant ou de l'établissement : "
              "voir le détail par point ci-dessous.",
        "en": "Deviations need action by the MSP or the establishment: see the details per "
              "point below."},
    "col_point": {"fr": "Point du socle", "en": "Baseline point"},
    "col_status": {"fr": "État", "en": "Status"},
    "col_hosts": {"fr": "Machines concernées", "en": "Hosts concerned"},
    "col_meaning": {"fr": "Ce que cela veut dire", "en": "What it means"},
    "hosts_of": {"fr": "{n} sur {total}", "en": "{n} of {total}"},
    "all_hosts": {"fr": "toutes les machines", "en": "every host"},
    "whole_site": {"fr": "l'établissement", "en": "the establishment"},
    "none": {"fr": "—", "en": "—"},
    "to_fix": {"fr": "À corriger", "en": "To fix"},
    "to_fill": {"fr": "À renseigner", "en": "To fill in"},
    "not_checked_controls": {"fr": "Pas encore vérifié par l'outil : {titles}.",
                             "en": "Not yet checked by the tool: {titles}."},
    # -- point statuses --------------------------------------------------------------------
    "status_compliant": {"fr": "Conforme", "en": "Compliant"},
    "status_non_compliant": {"fr": "Non conforme", "en": "Non-compliant"},
    "status_excepted": {"fr": "Dérogation", "en": "Exception"},
    "status_excepted_until": {"fr": "Dérogation (jusqu'au {date})",
                              "en": "Exception (until {date})"},
    "status_to_fill": {"fr": "À renseigner", "en": "To be filled in"},
    "status_incomplete": {"fr": "Vérification incomplète", "en": "Incomplete check"},
    "status_not_evaluated": {"fr": "Non vérifié", "en": "Not checked"},
    # -- row verdicts ----------------------------------------------------------------------
    "verdict_pass": {"fr": "Conforme", "en": "Pass"},
    "verdict_fail": {"fr": "Non conforme", "en": "Fail"},
    "verdict_excepted": {"fr": "Dérogation", "en": "Exception"},
    "verdict_error": {"fr": "Erreur de vérification", "en": "Check error"},
    "verdict_unreachable": {"fr": "Machine injoignable", "en": "Host unreachable"},
    "verdict_not_applicable": {"fr": "Sans objet", "en": "Not applicable"},
    "verdict_to_fill": {"fr": "À renseigner", "en": "To be filled in"},
    "verdict_manual": {"fr": "Action manuelle requise", "en": "Manual action required"},
    # -- trend -----------------------------------------------------------------------------
    "trend_title": {"fr": "Évolution de la conformité", "en": "Compliance trend"},
    "trend_lead": {
        "fr": "Part des contrôles conformes lors des {n} dernières vérifications "
              "(hors dérogations et machines injoignables).",
        "en": "Share of passing controls over the last {n} checks (exceptions and "
              "unreachable hosts left out)."},
    "trend_none": {"fr": "Pas encore d'historique : c'est la première vérification enregistrée.",
                   "en": "No history yet: this is the first recorded check."},
    "trend_svg_label": {"fr": "Taux de conformité par vérification",
                        "en": "Compliance rate per check"},
    # -- details ---------------------------------------------------------------------------
    "details_title": {"fr": "Détail par point et par machine",
                      "en": "Details per point and per host"},
    "col_control": {"fr": "Contrôle", "en": "Control"},
    "col_result": {"fr": "Résultat", "en": "Result"},
    "col_found": {"fr": "Constaté", "en": "Found"},
    "col_expected": {"fr": "Attendu", "en": "Expected"},
    "col_note": {"fr": "Remarque", "en": "Note"},
    "no_rows": {"fr": "Aucun contrôle de ce point n'est encore vérifié par l'outil.",
                "en": "No control of this point is checked by the tool yet."},
    "all_pass_host": {"fr": "{n} contrôle(s) conforme(s)", "en": "{n} control(s) passing"},
    # -- exceptions ------------------------------------------------------------------------
    "exceptions_title": {"fr": "Dérogations en cours", "en": "Current exceptions"},
    "exceptions_lead": {
        "fr": "Écarts acceptés par l'établissement, avec leur justification, la personne qui "
              "les a approuvés et leur date d'échéance.",
        "en": "Deviations accepted by the establishment, with their reason, who approved "
              "them and when they expire."},
    "exceptions_none": {"fr": "Aucune dérogation.", "en": "No exception."},
    "col_host": {"fr": "Machine", "en": "Host"},
    "col_reason": {"fr": "Justification", "en": "Reason"},
    "col_approver": {"fr": "Approuvée par", "en": "Approved by"},
    "col_expires": {"fr": "Échéance", "en": "Expires"},
    "expired": {"fr": "échue", "en": "expired"},
    "expires_soon": {"fr": "échéance proche", "en": "expires soon"},
    # -- evidence --------------------------------------------------------------------------
    "evidence_title": {"fr": "Éléments organisationnels", "en": "Organisational evidence"},
    "evidence_lead": {
        "fr": "Documents et actions déclarés par l'établissement, avec leur ancienneté à la "
              "date de la vérification (au-delà de 12 mois, ils doivent être renouvelés).",
        "en": "Documents and actions declared by the establishment, with their age on the "
              "day of the check (older than 12 months, they must be renewed)."},
    "col_item": {"fr": "Élément", "en": "Item"},
    "col_date": {"fr": "Date", "en": "Date"},
    "col_age": {"fr": "Ancienneté", "en": "Age"},
    "col_document": {"fr": "Document", "en": "Document"},
    "age_months": {"fr": "{n} mois", "en": "{n} months"},
    "age_days": {"fr": "{n} jour(s)", "en": "{n} day(s)"},
    "stale": {"fr": "trop ancien : à renouveler", "en": "too old: to be renewed"},
    "fresh": {"fr": "à jour", "en": "up to date"},
    "missing": {"fr": "non déclaré", "en": "not declared"},
    # -- drift -----------------------------------------------------------------------------
    "drift_title": {"fr": "Dérive de conformité — {site} — vérification du {when}",
                    "en": "Conformance drift — {site} — check of {when}"},
    "drift_first_run": {
        "fr": "Première vérification enregistrée : tous les écarts sont nouveaux.",
        "en": "First recorded check: every failure is new."},
    "drift_since": {"fr": "Comparée à la vérification du {when}.",
                    "en": "Compared with the check of {when}."},
    "drift_counts": {
        "fr": "{new} nouvel(s) écart(s), {resolved} écart(s) résolu(s), {still} écart(s) "
              "persistant(s).",
        "en": "{new} new failure(s), {resolved} resolved, {still} still failing."},
    "drift_new": {"fr": "NOUVEAU", "en": "NEW"},
    "drift_resolved": {"fr": "résolu", "en": "resolved"},
    "drift_still": {"fr": "persistant", "en": "still failing"},
    "drift_unknown": {"fr": "non revérifié", "en": "not re-checked"},
    "drift_incomplete": {"fr": "incomplet", "en": "incomplete"},
    "drift_found_expected": {"fr": " — constaté : {found} ; attendu : {expected}",
                             "en": " — found: {found}; expected: {expected}"},
    "drift_exit": {"fr": "Code de sortie : {code}.", "en": "Exit code: {code}."},
    "mail_subject": {
        "fr": "[esms-baseline] {site} : {n} nouvel(s) écart(s) de conformité",
        "en": "[esms-baseline] {site}: {n} new conformance failure(s)"},
    # -- warning verdict, obsolete machines, providers (ESMS-UPD-04, ESMS-PRV-01..03) -------
    "verdict_warning": {"fr": "À planifier", "en": "Warning"},
    "obsolete_title": {"fr": "Machines obsolètes", "en": "Obsolete machines"},
    "obsolete_lead": {
        "fr": "Machines dont le système ne reçoit plus, ou bientôt plus, de correctifs de "
              "sécurité : une mise à niveau, un remplacement ou une adhésion aux mises à jour "
              "étendues (ESU) est à décider et à budgéter.",
        "en": "Machines whose operating system no longer receives, or will soon stop "
              "receiving, security fixes: an upgrade, a replacement or an extended security "
              "updates (ESU) enrolment must be decided and budgeted."},
    "obsolete_none": {"fr": "Toutes les machines vérifiées reçoivent des correctifs de "
                            "sécurité.",
                      "en": "Every checked machine receives security fixes."},
    "col_release": {"fr": "Système", "en": "Operating system"},
    "col_support": {"fr": "Correctifs de sécurité", "en": "Security fixes"},
    "col_plan": {"fr": "À prévoir", "en": "To plan"},
    "support_ended": {"fr": "plus depuis le {date}", "en": "none since {date}"},
    "support_until": {"fr": "jusqu'au {date}", "en": "until {date}"},
    "support_unknown": {"fr": "inconnu (version absente de la table)",
                        "en": "unknown (release not in the table)"},
    "plan_upgrade": {"fr": "mise à niveau du système", "en": "upgrade of the system"},
    "plan_replacement": {"fr": "remplacement de la machine", "en": "replacement of the machine"},
    "plan_esu": {"fr": "remplacement, ou mises à jour étendues (ESU) en attendant",
                 "en": "replacement, or extended security updates (ESU) meanwhile"},
    "providers_title": {"fr": "Accès des prestataires", "en": "Providers' access"},
    "providers_lead": {
        "fr": "Comptes nominatifs des prestataires par machine, avec la fin de leur accès : un "
              "accès échu est verrouillé. Logiciels de prise en main à distance constatés.",
        "en": "Providers' named accounts per machine, with the end of their access: an "
              "ended access is locked. Remote-control software found."},
    "col_provider": {"fr": "Prestataire", "en": "Provider"},
    "col_contract": {"fr": "Contrat", "en": "Contract"},
    "col_access": {"fr": "Accès", "en": "Access"},
    "col_account": {"fr": "Compte", "en": "Account"},
    "col_access_until": {"fr": "Fin d'accès", "en": "Access until"},
    "access_ended": {"fr": "échu", "en": "ended"},
    "access_active": {"fr": "en cours", "en": "active"},
    "remote_tools": {"fr": "Logiciels de prise en main constatés", "en": "Remote-control software found"},
    "remote_tools_none": {"fr": "aucun", "en": "none"},
    "account_expires": {"fr": "expire le {date}, {state}", "en": "expires {date}, {state}"},
    "account_never": {"fr": "n'expire jamais, {state}", "en": "expires never, {state}"},
    "account_locked": {"fr": "verrouillé", "en": "locked"},
    "account_usable": {"fr": "utilisable", "en": "usable"},
    "access_ssh": {"fr": "SSH", "en": "SSH"},
    "access_rdp": {"fr": "bureau à distance (RDP)", "en": "remote desktop (RDP)"},
    "access_vendor_tool": {"fr": "logiciel de prise en main de l'éditeur",
                           "en": "vendor's remote-control tool"},
}

#: One or two sentences per socle point, for a director: what the point is about.
EXPLANATIONS: dict[int, dict[str, str]] = {
    1: {"fr": "Les correctifs de sécurité s'installent automatiquement, dans la fenêtre de "
              "maintenance, sans redémarrage pendant les soins.",
        "en": "Security fixes install automatically, inside the maintenance window, with no "
              "reboot during care hours."},
    2: {"fr": "Chaque machine refuse les connexions non prévues ; seul l'infogérant peut "
              "l'administrer à distance. Un antivirus à jour protège les postes.",
        "en": "Each host refuses unexpected connections; only the MSP can manage it "
              "remotely. An up-to-date antivirus protects the workstations."},
    3: {"fr": "Les données sont sauvegardées régulièrement, avec une copie hors du site, et "
              "la restauration est testée.",
        "en": "Data is backed up regularly, with an off-site copy, and restoring is tested."},
    4: {"fr": "Une session inactive se ferme ou se verrouille d'elle-même : un poste partagé "
              "ne reste pas ouvert au nom d'un soignant.",
        "en": "An idle session closes or locks by itself: a shared workstation does not stay "
              "open in a carer's name."},
    5: {"fr": "Chaque personne a son propre compte et un mot de passe robuste ; les comptes "
              "des personnes parties sont bloqués ; les droits d'administration sont limités.",
        "en": "Everyone has their own account and a strong password; leavers' accounts are "
              "locked; administrator rights are limited."},
    6: {"fr": "L'établissement sait poursuivre les soins sans informatique et a testé cette "
              "procédure depuis moins de 12 mois.",
        "en": "The establishment can keep caring without IT and has tested this procedure "
              "in the last 12 months."},
    7: {"fr": "Le personnel a suivi une sensibilisation à la sécurité informatique depuis "
              "moins de 12 mois.",
        "en": "Staff attended an IT security awareness session in the last 12 months."},
    8: {"fr": "Une charte d'usage de l'informatique est adoptée et connue de tous.",
        "en": "An IT usage charter is adopted and known to everyone."},
}


#: Counted labels: (one, other) per language; French uses the singular for 0 and 1.
PLURALS: dict[str, dict[str, tuple[str, str]]] = {
    "compliant": {"fr": ("point conforme", "points conformes"),
                  "en": ("compliant point", "compliant points")},
    "non_compliant": {"fr": ("point non conforme", "points non conformes"),
                      "en": ("non-compliant point", "non-compliant points")},
    "excepted": {"fr": ("point sous dérogation", "points sous dérogation"),
                 "en": ("point under an exception", "points under an exception")},
    "to_fill": {"fr": ("point à renseigner", "points à renseigner"),
                "en": ("point to be filled in", "points to be filled in")},
    "incomplete": {"fr": ("point à la vérification incomplète",
                          "points à la vérification incomplète"),
                   "en": ("incompletely checked point", "incompletely checked points")},
    "not_evaluated": {"fr": ("point pas encore vérifié par l'outil",
                             "points pas encore vérifiés par l'outil"),
                      "en": ("point not yet checked by the tool",
                             "points not yet checked by the tool")},
}


def plural(key: str, n: int, lang: str) -> str:
    """``n`` and the label ``key`` in the right number: "3 points conformes"."""
    one, other = PLURALS[key]["en" if lang == "en" else "fr"]
    if lang == "en":
        return f"{n} {one if n == 1 else other}"
    return f"{n} {one if n <= 1 else other}"


def enumerate_text(parts: list[str], lang: str) -> str:
    """'a, b et c' / 'a, b and c'."""
    if len(parts) <= 1:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} {t('and', lang)} {parts[-1]}"


def t(key: str, lang: str, **values: Any) -> str:
    """The text ``key`` in ``lang`` (French if unknown), with ``values`` filled in."""
    entry = TEXTS[key]
    text = entry.get(lang) or entry["fr"]
    return text.format(**values) if values else text


def access_text(access: str, lang: str) -> str:
    """A provider's access method (ssh / rdp / vendor_tool) in ``lang``; another as it is."""
    return t(f"access_{access}", lang) if access in ("ssh", "rdp", "vendor_tool") else access


def colon(lang: str) -> str:
    """The colon with French typography (a space before it) or English."""
    return ":" if lang == "en" else "\u00a0:"


def socle_title(point: int, lang: str) -> str:
    return SOCLE[point]["en" if lang == "en" else "fr"]


def explanation(point: int, lang: str) -> str:
    return EXPLANATIONS[point]["en" if lang == "en" else "fr"]


def control_title(control_id: str, lang: str) -> str:
    """The catalogue title of a control, or '' for an id the catalogue does not know."""
    try:
        return load_catalogue().get(control_id).title.get(lang)
    except KeyError:
        return ""


def format_date(day: _dt.date | _dt.datetime | None, lang: str) -> str:
    """12 mars 2025 (fr) or 2025-03-12 (en); '—' for None."""
    if day is None:
        return "—"
    if isinstance(day, _dt.datetime):
        day = day.date()
    if lang == "en":
        return day.isoformat()
    first = "1er" if day.day == 1 else str(day.day)
    return f"{first} {_MONTHS_FR[day.month - 1]} {day.year}"


def format_datetime(moment: _dt.datetime, lang: str) -> str:
    local = moment.astimezone() if moment.tzinfo else moment
    hm = local.strftime("%H:%M")
    return f"{format_date(local, lang)} à {hm}" if lang != "en" else f"{local.date()} {hm}"
