"""French texts of the found / expected values of the rules, and of the keys of the
dictionaries they return (issue #14): merged into :data:`messages.MESSAGES` / read by
:func:`messages.key_text`. Same conventions as messages.py: ``{name}`` parameters are
copied, ``*_t`` ones translated in turn. Technical tokens (registry types ``DWord``, unit
names, configuration keywords and their values such as ``VERBOSE``, ``persistent``,
``true``) are left as they are: they are what the administrator finds on the host.
"""

from __future__ import annotations

#: key -> (English template, French template)
VALUES: dict[str, tuple[str, str]] = {
    # -- states ---------------------------------------------------------------------------
    "val.enabled": ("enabled", "activé"),
    "val.disabled": ("disabled", "désactivé"),
    "val.installed": ("installed", "installé"),
    "val.closed": ("closed", "fermé"),
    "val.any": ("any", "toutes"),
    "val.yes": ("yes", "oui"),
    "val.no": ("no", "non"),
    "val.not_set": ("not set", "non défini"),
    "val.expired": ("expired", "expiré"),
    "val.not_expired": ("not expired", "non expiré"),
    "val.not_readable": ("not readable", "illisible"),
    "val.not_collected": ("not collected", "non collecté"),
    "val.absent_or_disabled": ("absent or disabled", "absent ou désactivé"),
    "val.any_nofw": ("any (no firewall)", "toutes (pas de pare-feu)"),
    "val.unit_ea": ("enabled/active", "activé/actif"),
    "val.unit_ei": ("enabled/inactive", "activé/inactif"),
    "val.unit_di": ("disabled/inactive", "désactivé/inactif"),
    "val.unit_da": ("disabled/active", "désactivé/actif"),
    "val.unit_ea_at": ("enabled/active [{w}]", "activé/actif [{w}]"),
    "val.unit_ei_at": ("enabled/inactive [{w}]", "activé/inactif [{w}]"),
    "val.unit_di_at": ("disabled/inactive [{w}]", "désactivé/inactif [{w}]"),
    "val.unit_none_i": ("/inactive []", "/inactif []"),
    "val.unit_daily": ("enabled/active, daily", "activé/actif, quotidien"),
    "val.success_or_not": ("success (or not run yet)", "succès (ou pas encore lancé)"),
    "val.success": ("success (exit {c}, {w_t})", "succès (code {c}, {w_t})"),
    "val.also_sshd": ("{x} (also stated in sshd_config)", "{x} (indiqué aussi dans sshd_config)"),
    # -- accounts -------------------------------------------------------------------------
    "val.win_admins": ("built-in Administrator, the connecting account, Domain Admins",
                       "Administrateur intégré, le compte de connexion, Domain Admins"),
    "val.nobody_else": ("nobody else with sudo rights or uid 0",
                        "personne d'autre avec des droits sudo ou l'uid 0"),
    "val.sudo_group": ("sudo group = {g}", "groupe sudo = {g}"),
    "val.group_sudo": ("group sudo", "groupe sudo"),
    "val.sudoers_rule": ("sudoers rule", "règle sudoers"),
    # -- antivirus, backup ----------------------------------------------------------------
    "val.max_days": ("<= {n} ({d} days)", "<= {n} ({d} jours)"),
    "val.db_age": ("version {v}, {n} days old", "version {v}, vieille de {n} jours"),
    "val.task_daily": ("{s} as {u} daily at {h}", "{s} en tant que {u}, quotidienne à {h}"),
    "val.task_at": ("{s} as {u} at [{h}]", "{s} en tant que {u} à [{h}]"),
    "val.readable_only": ("readable by [{s}] only", "lisible seulement par [{s}]"),
    "val.readable": ("readable by [{s}]", "lisible par [{s}]"),
    "val.task_result": ("task result {r}, restic exit {c} ({w_t})",
                        "résultat de la tâche {r}, code restic {c} ({w_t})"),
    "val.snapshot": ("{i} at {t} ({n} h old)", "{i} du {t} (vieille de {n} h)"),
    # -- banner, firewall -----------------------------------------------------------------
    "val.banner_files": ("{f} show the charter text and version {v}",
                         "{f} affichent le texte de la charte et la version {v}"),
    "val.input_chain": (("an input chain (inet, or ip and ip6) with policy drop, accepting iif lo "
                         "and ct state established,related"),
                        ("une chaîne d'entrée (inet, ou ip et ip6) en politique drop, acceptant "
                         "iif lo et ct state established,related")),
    "val.nft_enabled": ("nftables.service enabled", "nftables.service activé"),
    "val.opened_by": ("{p} by '{r}'", "{p} par la règle '{r}'"),
    # -- session lock ---------------------------------------------------------------------
    "val.tmout": ("TMOUT between {a} and {b} s ({m} min), readonly and exported",
                  "TMOUT entre {a} et {b} s ({m} min), en lecture seule et exporté"),
    "val.login_shell": ("login shell of an unprivileged user",
                        "shell de connexion d'un utilisateur non privilégié"),
    "val.channel": ("ChannelTimeout session between {a} s and {b} s ({m} min)",
                    "ChannelTimeout session entre {a} s et {b} s ({m} min)"),
    "val.alive": (("ClientAliveInterval {a} s x ClientAliveCountMax {b} (unresponsive clients cut "
                   "after {c} s), both stated in sshd_config too"),
                  ("ClientAliveInterval {a} s x ClientAliveCountMax {b} (clients muets coupés "
                   "après {c} s), tous deux indiqués aussi dans sshd_config")),
    "val.stopidle": ("StopIdleSessionSec between {a} s and {b} s ({m} min), in force in {u}",
                     "StopIdleSessionSec entre {a} s et {b} s ({m} min), en vigueur dans {u}"),
    "val.dconf": (("idle-delay between {a} s and {b} s ({m} min), lock-enabled true, lock-delay "
                   "<= {c} s, all three locked, system db compiled (dconf update)"),
                  ("idle-delay entre {a} s et {b} s ({m} min), lock-enabled true, lock-delay "
                   "<= {c} s, tous trois verrouillés, base système compilée (dconf update)")),
    "val.no_desktop": ("no dconf, no gnome-shell", "ni dconf ni gnome-shell"),
    # -- passwords ------------------------------------------------------------------------
    "val.each_stated": ("each stated in {f}", "chacun indiqué dans {f}"),
    "val.no_credit": ("no positive credit", "aucun crédit positif"),
    "val.pwq_before": ("pam_pwquality before pam_unix in {f}",
                       "pam_pwquality avant pam_unix dans {f}"),
    "val.classes": ("required classes ({c}) credit <= {n}", "classes exigées ({c}) crédit <= {n}"),
    "val.unlock0": (">= {n} (or 0: until an admin unlocks)",
                    ">= {n} (ou 0 : jusqu'au déblocage par un administrateur)"),
    "val.deny": ("deny between {a} and {b}", "deny entre {a} et {b}"),
    "val.faillock": (("pam_faillock preauth before pam_unix and authfail after it, and in "
                      "common-account"),
                     ("pam_faillock preauth avant pam_unix et authfail après, et dans "
                      "common-account")),
    "val.unlock_time": ("unlock_time >= {n} s (or 0: admin unlock)",
                        "unlock_time >= {n} s (ou 0 : déblocage par un administrateur)"),
    "val.hashed": ("every stored password hashed with {m}",
                   "chaque mot de passe stocké haché avec {m}"),
    "val.pam_method": ("pam_unix {m} or no method", "pam_unix {m} ou aucune méthode"),
    "val.never_n": ("-1 (never)", "-1 (jamais)"),
    "val.or_expired": ("<= {n} or expired", "<= {n} ou expiré"),
    "val.root_max": ("root max {n} d", "root : maximum {n} j"),
    "val.history": ("the last {n} password(s) refused ({m})",
                    "les {n} dernier(s) mot(s) de passe refusé(s) ({m})"),
    "val.ages": ("users {u} max {a} d, admins {b} max {c} d ({d} = no expiry)",
                 ("utilisateurs {u} : maximum {a} j, administrateurs {b} : maximum {c} j "
                  "({d} = pas d'expiration)")),
    "val.want_max": ("max={a} min={b} warn={c} (want max={d})",
                     "max={a} min={b} warn={c} (attendu max={d})"),
    # -- updates --------------------------------------------------------------------------
    "val.periodic": ("APT::Periodic {a} and {b} >= {n}", "APT::Periodic {a} et {b} >= {n}"),
    "val.timer_ea": ("apt-daily-upgrade.timer enabled/active",
                     "apt-daily-upgrade.timer activé/actif"),
    "val.not_disabled": ("not Disabled", "pas Disabled"),
    "val.security_only": ("origins: security only", "origines : sécurité seulement"),
    "val.uu_installed": ("unattended-upgrades installed", "unattended-upgrades installé"),
    "val.delay": ("RandomizedDelaySec < {n} s (window of {m} min)",
                  "RandomizedDelaySec < {n} s (fenêtre de {m} min)"),
    "val.reboot": (("Automatic-Reboot true, Automatic-Reboot-Time {h} (or now, after an upgrade "
                    "run that starts only at {s} on the window days)"),
                   ("Automatic-Reboot true, Automatic-Reboot-Time {h} (ou now, après des mises "
                    "à jour qui ne commencent qu'à {s} les jours de la fenêtre)")),
    "val.phase_ended": ("ended", "terminée"),
    "val.phase_regular": ("regular", "normale"),
    "val.phase_lts": ("lts", "LTS"),
    "val.phase_unknown": ("unknown", "inconnue"),
}

#: keys of the found / expected dictionaries -> French (identifiers not listed stay)
KEYS: dict[str, str] = {
    "full_name": "nom complet", "groups": "groupes",
    "password_never_expires": "mot de passe sans expiration",
    "also kept": "conservés aussi", "members": "membres", "kept (built-in)": "conservés (intégrés)",
    "administrators": "administrateurs",
    "enabled accounts without a required password": "comptes actifs sans mot de passe exigé",
    "last scan": "dernière analyse", "scan paths": "chemins analysés",
    "policy DisableRealtimeMonitoring": "stratégie DisableRealtimeMonitoring",
    "age (hours)": "âge (heures)", "daily": "quotidienne", "weekly": "hebdomadaire",
    "monthly": "mensuelle", "databases": "bases", "freshclam log": "journal de freshclam",
    "last run": "dernier passage", "password file": "fichier du mot de passe",
    "paths": "chemins", "repository": "dépôt", "retention": "rétention", "task": "tâche",
    "last snapshot": "dernière sauvegarde", "test restore": "restauration de test",
    "files": "fichiers", "enabled": "actif", "inbound": "entrant",
    "established accepted": "connexions établies acceptées", "input chains": "chaînes d'entrée",
    "loopback accepted": "boucle locale acceptée",
    "opened by other rules": "ouverts par d'autres règles",
    "management ports opened by other rules": "ports d'administration ouverts par d'autres règles",
    "exported": "exporté", "readonly": "lecture seule",
    "StopIdleSessionSec (running logind)": "StopIdleSessionSec (logind en cours)",
    "keys": "clés", "locked keys": "clés verrouillées", "system dbs": "bases système",
    "user profiles not loaded (not read)": "profils utilisateur non chargés (non lus)",
    "access": "accès", "access_until": "accès jusqu'au", "account": "compte",
    "contract": "contrat", "provider": "prestataire", "reaches_host": "accès à cette machine",
    "expires": "expire", "locked": "verrouillé", "packages": "paquets", "units": "unités",
    "journal_max_retention": "rétention maximale du journal",
    "journal_storage": "stockage du journal",
    "journal_system_max_use": "taille maximale du journal", "sshd_loglevel": "LogLevel de sshd",
    "not in pwquality.conf": "absent de pwquality.conf",
    "pam_pwquality in common-password": "pam_pwquality dans common-password",
    "pam_faillock in common-account": "pam_faillock dans common-account",
    "pam_faillock preauth/authfail in common-auth": "pam_faillock preauth/authfail dans common-auth",
    "pam_unix method": "méthode de pam_unix", "weak stored hashes": "hachages stockés faibles",
    "admin password ages (days)": "âges des mots de passe des administrateurs (jours)",
    "absent (see ESMS-ACC-01)": "absents (voir ESMS-ACC-01)", "accounts": "comptes",
    "history": "historique", "root max days": "durée maximale pour root (jours)",
    "last installed update": "dernière mise à jour installée", "origins": "origines",
    "regular_support_ended": "fin du support normal", "release": "version",
    "security_updates_until": "correctifs de sécurité jusqu'au",
    "programs": "programmes installés", "services": "services",
    "audit Logon": "audit des ouvertures de session (Logon)",
    "audit Special Logon": "audit des ouvertures de session spéciales (Special Logon)",
    "security_log_max_kib": "taille maximale du journal Sécurité (Kio)",
    "security_log_mode": "mode du journal Sécurité",
    "security_log_days_held": "jours conservés par le journal Sécurité",
}

# the apply's manual actions (the roles' "ESMS-... | Manual action | ..." tasks), shown in
# the report's "Actions manuelles requises" section
VALUES.update({
    "m.uid0": ("{u} has UID 0 (root's rights): it is locked and expired, never deleted",
               "{u} a l'UID 0 (les droits de root) : il est verrouillé et expiré, jamais supprimé"),
    "m.uid0_remove": ("remove it by hand (userdel) after checking why it exists",
                      "supprimez-le à la main (userdel) après avoir vérifié pourquoi il existe"),
    "m.empty_mgmt": ("the management account {u} has an empty password: set one or lock it by hand",
                     ("le compte d'administration {u} a un mot de passe vide : définissez-en un "
                      "ou verrouillez-le à la main")),
    "m.undeclared": (("{u} can open a session (uid {n}, shell {s}) but the profile does not "
                      "declare it: declare it (or mark it departed), or add it to "
                      "accounts.local_allowlist"),
                     ("{u} peut ouvrir une session (uid {n}, shell {s}) mais le profil ne le "
                      "déclare pas : déclarez-le (ou marquez-le parti), ou ajoutez-le à "
                      "accounts.local_allowlist")),
})
