"""French texts of the Windows providers' rules (ESMS-PRV-01..03,
``conformance/rules/windows/providers.py``): merged into :data:`messages.MESSAGES`, same
conventions (``{name}`` copied, ``*_t`` translated in turn)."""

from __future__ import annotations

#: key -> (English template, French template)
PROVIDERS_WINDOWS: dict[str, tuple[str, str]] = {
    "prv.w_ok": ("every provider account expires with its access, ended ones are disabled",
                 ("chaque compte de prestataire expire avec son accès, les accès échus sont "
                  "désactivés")),
    "prv.w_enabled": ("{u} ({p}): access ended on {d} but the account is enabled",
                      "{u} ({p}) : accès échu le {d} mais le compte est actif"),
    "prv.w_no_reach": ("{u} ({p}): no access to this host but the account is enabled",
                       "{u} ({p}) : aucun accès à cette machine mais le compte est actif"),
    "prv.w_expired_disabled": ("expired, disabled", "expiré, désactivé"),
    "prv.w_audit": ("audit policy {s} is {a_t}, not success and failure",
                    "stratégie d'audit {s} : {a_t}, au lieu de succès et échec"),
    "prv.w_audit_3": ("success and failure", "succès et échec"),
    "prv.w_audit_1": ("success", "succès"),
    "prv.w_audit_2": ("failure", "échec"),
    "prv.w_audit_0": ("no auditing", "aucun audit"),
    "prv.w_log_size": ("Security log maximum size {a} KiB is below {n} KiB",
                       "taille maximale du journal Sécurité ({a} Kio) inférieure à {n} Kio"),
    "prv.w_log_mode": ("Security log mode {m}: new events are lost once it is full",
                       ("journal Sécurité en mode {m} : les nouveaux événements sont perdus une "
                        "fois qu'il est plein")),
    "prv.w_log_days": ("Security log is full and holds {h} days, less than {n}: increase its size",
                       ("le journal Sécurité est plein et ne conserve que {h} jours, moins de {n} : "
                        "augmenter sa taille")),
    "prv.w_trace_ok": ("logons audited (success and failure), Security log of {n} KiB",
                       ("ouvertures de session auditées (succès et échec), journal Sécurité de "
                        "{n} Kio")),
    "prv.w_v_kib": (">= {n} KiB", "≥ {n} Kio"),
    "prv.w_v_days": (">= {n} days once full", "≥ {n} jours une fois plein"),
}
