"""French texts of the rules' messages and of their found / expected values.

Rules write their messages in English (the check's JSON, the history and ``--lang en`` keep
them as they are). Each message is made of parts joined by "; "; every part is an instance
of one template below (message key -> English template, French template, with ``{name}``
parameters). :func:`translate` finds the template of each part, takes its parameters and
writes the French template with them; a part no template knows is kept as it is, so a new
rule message is never lost, only left in English (tests/unit/test_messages.py fails then).

Parameters are copied as they are (host names, paths, values, unit names), except those
named ``*_t`` which are translated in turn (a nested message).
"""

from __future__ import annotations

import re
from functools import cache

from esms_baseline.conformance.messages_providers_windows import PROVIDERS_WINDOWS
from esms_baseline.conformance.messages_values import KEYS, VALUES

#: key -> (English template, French template)
MESSAGES: dict[str, tuple[str, str]] = {
    # -- updates ------------------------------------------------------------------------
    "upd.on": ("automatic updates on", "mises à jour automatiques actives"),
    "upd.no_package": ("unattended-upgrades not installed", "unattended-upgrades n'est pas installé"),
    "upd.periodic": ("APT::Periodic::{k} is {v}", "APT::Periodic::{k} vaut {v}"),
    "upd.scope_all": ("scope all but only security origins",
                      "périmètre « toutes » mais seulement les origines de sécurité"),
    "upd.reboot_false": ("Automatic-Reboot false", "Automatic-Reboot désactivé"),
    "upd.reboot_start": ("reboots at the window start", "redémarre au début de la fenêtre"),
    "upd.timer": ("apt-daily-upgrade.timer not enabled and active",
                  "apt-daily-upgrade.timer n'est pas activé et actif"),
    "upd.no_security_origin": ("no security origin", "aucune origine de sécurité"),
    "upd.non_security": ("non-security origins with scope security: {o}",
                         "origines hors sécurité alors que le périmètre est « sécurité » : {o}"),
    "upd.window_ok": ("in the window", "dans la fenêtre"),
    "upd.persistent": ("Persistent=yes: a missed run catches up at boot, outside the window",
                       "Persistent=yes : un passage manqué est rattrapé au démarrage, hors de la fenêtre"),
    "upd.outside": ("fires outside the window: {w}", "se déclenche hors de la fenêtre : {w}"),
    "upd.not_at": ("does not fire at: {w}", "ne se déclenche pas à : {w}"),
    "upd.delay": ("random delay {s} s reaches past the window",
                  "le délai aléatoire de {s} s dépasse la fenêtre"),
    "upd.no_reboot": ("no automatic reboot", "pas de redémarrage automatique"),
    "upd.reboot_at": ("reboots at {a}, not {b}", "redémarre à {a}, et non à {b}"),
    "upd.reboot_ok": ("reboots right after the upgrade run, in the window",
                      "redémarre juste après les mises à jour, dans la fenêtre"),
    "upd.reboot_outside": ("reboots right after upgrades that may run outside the window: {w_t}",
                           ("redémarre juste après des mises à jour qui peuvent avoir lieu hors de "
                           "la fenêtre : {w_t}")),
    # -- end of support (ESMS-UPD-04) -----------------------------------------------------
    "eol.ended": ("{r_t} has received no security update since {d} ({n} days): {p_t} to plan",
                  ("{r_t} ne reçoit plus de correctif de sécurité depuis le {d} ({n} jours) : "
                  "{p_t} à prévoir")),
    "eol.soon": ("{r_t} receives security updates until {d} ({n} days left): {p_t} to plan",
                 ("{r_t} reçoit des correctifs de sécurité jusqu'au {d} (encore {n} jours) : "
                 "{p_t} à prévoir")),
    "eol.until": ("{r_t} receives security updates until {d}",
                  "{r_t} reçoit des correctifs de sécurité jusqu'au {d}"),
    "eol.unknown": (("{r_t} is not in the end-of-support table: nothing proves it still receives "
                    "security updates"),
                    ("{r_t} n'est pas dans la table des fins de maintenance : rien ne prouve qu'il "
                    "reçoit encore des correctifs de sécurité")),
    "eol.not_debian": ("{r_t} is not Debian: its end of support is not in the table",
                       "{r_t} n'est pas Debian : sa fin de maintenance n'est pas dans la table"),
    "eol.expected": ("security updates on {d}, end more than {n} days away",
                     "correctifs de sécurité le {d}, fin à plus de {n} jours"),
    "eol.a_debian": ("a Debian release", "une version de Debian"),
    "eol.unknown_release": ("Debian (unknown release)", "Debian (version inconnue)"),
    "plan.upgrade": ("upgrade", "mise à niveau"),
    "plan.replacement": ("replacement", "remplacement"),
    "plan.esu": ("esu", "remplacement ou mises à jour étendues (ESU)"),
    # -- firewall -----------------------------------------------------------------------
    "fw.on": ("firewall on", "pare-feu actif"),
    "fw.disabled": ("nftables.service is disabled: the ruleset is lost at boot",
                    "nftables.service est désactivé : les règles sont perdues au démarrage"),
    "fw.no_drop": ("no input chain drops by default: inbound traffic is allowed",
                   "aucune chaîne d'entrée ne rejette par défaut : le trafic entrant passe"),
    "fw.open_any_declared": ("{p} open from any, declared {s}", "{p} ouvert à tous, déclaré pour {s}"),
    "fw.not_open": ("declared {n} {p} not open", "le service déclaré {n} {p} n'est pas ouvert"),
    "fw.undeclared": ("{p} open but not declared", "{p} ouvert mais non déclaré"),
    "fw.accept_no_port": ("accept without port: {r}", "acceptation sans port : {r}"),
    "fw.no_firewall": ("no firewall: every port is open", "pas de pare-feu : tous les ports sont ouverts"),
    "fw.only_declared": ("only declared services open", "seuls les services déclarés sont ouverts"),
    "fw.mgmt_locked": ("{p} not open to the management sources (locked out)",
                       "{p} n'est pas ouvert aux sources d'administration (accès perdu)"),
    "fw.mgmt_any_nofw": ("{p} open from any source (no firewall)",
                         "{p} ouvert à toute source (pas de pare-feu)"),
    "fw.mgmt_any": ("{p} open from any source", "{p} ouvert à toute source"),
    "fw.mgmt_sources": ("{p} sources {a} != {b}", "{p} : sources {a} au lieu de {b}"),
    "fw.mgmt_only": ("management only", "administration seulement"),
    "fw.no_deny_value": ("no default-deny input chain: every port is open",
                         "pas de chaîne d'entrée en refus par défaut : tous les ports sont ouverts"),
    "fw.from": ("{p} from {s}", "{p} depuis {s}"),
    # -- antivirus, backup ------------------------------------------------------------------
    "av.not_installed": ("ClamAV ({p}) not installed", "ClamAV ({p}) n'est pas installé"),
    "av.ok": ("ClamAV installed, scheduled scan running",
              "ClamAV installé, analyse planifiée active"),
    "av.unit": ("{u} not enabled and active", "{u} n'est pas activé et actif"),
    "av.freshclam": ("the signature updater {u} is not enabled and running",
                     "le service de mise à jour des signatures {u} n'est pas activé et actif"),
    "av.no_paths": ("no path to scan ({f})", "aucun chemin à analyser ({f})"),
    "av.no_db": (("no signature database in {d} (freshclam never updated: no access to the "
                 "signature mirrors?)"),
                 ("aucune base de signatures dans {d} (freshclam n'a jamais fait de mise à jour : "
                 "pas d'accès aux miroirs de signatures ?)")),
    "av.stale": ("signatures {n} days old (maximum {m}): stale",
                 "signatures vieilles de {n} jours (maximum {m}) : périmées"),
    "av.age": ("signatures {n} days old", "signatures vieilles de {n} jours"),
    "av.younger": ("daily signatures younger than {n} days",
                   "signatures quotidiennes de moins de {n} jours"),
    "bak.not_configured": ("backup not configured ({f} missing)",
                           "sauvegarde non configurée ({f} absent)"),
    "bak.daily": ("daily backup at {h} to {r}", "sauvegarde quotidienne à {h} vers {r}"),
    "bak.pw_mode": ("password file readable beyond root (mode {m}, uid {u})",
                    "fichier du mot de passe lisible au-delà de root (mode {m}, uid {u})"),
    "bak.repo": ("repository is '{r}', not the profile's", "le dépôt est '{r}', pas celui du profil"),
    "bak.no_repo": ("backup not configured on this host: no repository to read",
                    "sauvegarde non configurée sur cette machine : aucun dépôt à lire"),
    "bak.old": ("last off-site snapshot {n} h old (maximum {m} h)",
                "dernière sauvegarde hors site vieille de {n} h (maximum {m} h)"),
    "bak.ok": ("off-site snapshot {n} h old, restore tested",
               "sauvegarde hors site de {n} h, restauration testée"),
    "bak.canary": ("the restored canary differs from the local file",
                   "le fichier témoin restauré diffère du fichier local"),
    "bak.unreachable": ("unreachable repository: {e}", "dépôt injoignable : {e}"),
    "bak.not_configured_v": ("backup not configured", "sauvegarde non configurée"),
    # settings stated where the reference scanner reads them (docs/scanner.md)
    "scan.sshd_states": ("{f} states {k} {v}, not {w}", "{f} indique {k} {v}, et non {w}"),
    "scan.pwq_unstated": ("not stated in /etc/security/pwquality.conf: {k}",
                          "non indiqué dans /etc/security/pwquality.conf : {k}"),
    "scan.pwq_weaker": ("weaker values also stated in pwquality.conf: {v}",
                        "valeurs plus faibles aussi indiquées dans pwquality.conf : {v}"),
    "scan.root_age": ("root's maximum age is {a} d, not {b} d",
                      "l'âge maximal du mot de passe de root est de {a} j, et non {b} j"),
    "scan.history": (("password history remembers {n} password(s), not {m} (pam_pwhistory "
                      "before pam_unix in common-password)"),
                     ("l'historique retient {n} mot(s) de passe, et non {m} (pam_pwhistory "
                      "avant pam_unix dans common-password)")),
    # undeclared interactive accounts, UID 0 (rules/accounts_admin.py)
    "acc.uid0_manual": (("manual action required: {a} (a UID 0 account is locked and expired by "
                         "apply, never deleted, and a rule of /etc/sudoers or outside "
                         "/etc/sudoers.d is not edited)"),
                        ("action manuelle requise : {a} (un compte d'UID 0 est verrouillé et "
                         "expiré par l'application, jamais supprimé, et une règle de /etc/sudoers "
                         "ou hors de /etc/sudoers.d n'est pas modifiée)")),
    "acc.interactive_ok": ("every interactive account is declared",
                         "tout compte interactif est déclaré"),
    "acc.undeclared": (("manual action required: undeclared interactive account(s) {a}: declare "
                        "them (or mark them departed), or add them to accounts.local_allowlist"),
                       ("action manuelle requise : compte(s) interactif(s) non déclaré(s) {a} : "
                        "les déclarer (ou les marquer partis), ou les ajouter à "
                        "accounts.local_allowlist")),
    "acc.interactive_allow": (("interactive accounts (uid >= UID_MIN, usable password or login "
                               "shell): declared users, the management account, or the known "
                               "local accounts {a}"),
                              ("comptes interactifs (uid >= UID_MIN, mot de passe utilisable ou "
                               "shell de connexion) : utilisateurs déclarés, le compte de "
                               "l'infogérant, ou les comptes locaux connus {a}")),
    "acc.interactive": (("interactive accounts (uid >= UID_MIN, usable password or login shell): "
                         "declared users, the management account"),
                        ("comptes interactifs (uid >= UID_MIN, mot de passe utilisable ou shell "
                         "de connexion) : utilisateurs déclarés, le compte de l'infogérant")),
    "acc.interactive_found": ("uid {u}, shell {s}, password usable",
                              "uid {u}, shell {s}, mot de passe utilisable"),
    "acc.interactive_locked": ("uid {u}, shell {s}, password locked",
                               "uid {u}, shell {s}, mot de passe verrouillé"),
    # Windows backups (rules/windows/backup.py)
    "bak.w_not_backed": ("not backed up: {p}", "non sauvegardé : {p}"),
    "bak.w_retention": ("retention {a} instead of {b}", "rétention {a} au lieu de {b}"),
    "bak.w_pw_missing": ("repository password file missing or empty",
                         "fichier du mot de passe du dépôt absent ou vide"),
    "bak.w_pw_access": ("the password file is readable beyond SYSTEM and Administrators: {s}",
                        ("le fichier du mot de passe est lisible au-delà de SYSTEM et des "
                         "Administrateurs : {s}")),
    "bak.w_no_task": ("the scheduled task {t} is missing", "la tâche planifiée {t} est absente"),
    "bak.w_task_state": ("the backup task is {s}", "la tâche de sauvegarde est dans l'état {s}"),
    "bak.w_task_user": ("the backup task runs as {u}, not SYSTEM",
                        "la tâche de sauvegarde s'exécute en tant que {u}, et non SYSTEM"),
    "bak.w_task_start": ("the backup task starts at {a}, not {b}",
                         "la tâche de sauvegarde démarre à {a}, et non à {b}"),
    "bak.w_failed": ("the last backup failed (task result {r}, restic exit {c})",
                     "la dernière sauvegarde a échoué (résultat de la tâche {r}, code restic {c})"),
    "bak.not_configured_s": ("not configured", "non configurée"),
    "bak.younger": ("younger than {n} h", "de moins de {n} h"),
    "bak.canary_ok": ("canary restored, same sha256 as the local file",
                      "fichier témoin restauré, même sha256 que le fichier local"),
    "bak.canary_match": ("canary restored, sha256 matches",
                         "fichier témoin restauré, sha256 identique"),
    "bak.differs": ("restored content differs from the local file",
                    "le contenu restauré diffère du fichier local"),
    # -- banner -------------------------------------------------------------------------
    "ban.absent": ("{f}: charter text absent, charter version {v} absent",
                   "{f} : texte de la charte absent, version {v} de la charte absente"),
    "ban.absent_v": ("charter text absent, charter version {v} absent",
                     "texte de la charte absent, version {v} de la charte absente"),
    "ban.sshd": ("sshd shows no banner (Banner none)", "sshd n'affiche pas de bannière (Banner none)"),
    "ban.ok": ("the charter (version {v}) is shown at login",
               "la charte (version {v}) est affichée à la connexion"),
    "ban.shown": ("charter shown", "charte affichée"),
    # -- session lock ---------------------------------------------------------------------
    "lock.ro": ("TMOUT is not readonly (a user can unset it)",
                "TMOUT n'est pas en lecture seule (un utilisateur peut l'annuler)"),
    "lock.unset": ("TMOUT is not set", "TMOUT n'est pas défini"),
    "lock.export": ("TMOUT is not exported", "TMOUT n'est pas exporté"),
    "lock.long": ("TMOUT={a} s is longer than {b} s", "TMOUT={a} s dépasse {b} s"),
    "lock.ok": ("idle shells close", "les shells inactifs se ferment"),
    "lock.alive": ("ClientAliveInterval is {a}, not {b}", "ClientAliveInterval vaut {a} au lieu de {b}"),
    "lock.ssh_ok": ("idle SSH sessions cut", "les sessions SSH inactives sont coupées"),
    "lock.no_ct": ("no ChannelTimeout for sessions: idle SSH sessions are never cut",
                   ("pas de ChannelTimeout pour les sessions : les sessions SSH inactives ne sont "
                   "jamais coupées")),
    "lock.ct_long": ("session ChannelTimeout {a} s is longer than {b} s",
                     "ChannelTimeout des sessions de {a} s, plus long que {b} s"),
    "lock.stop_long": ("StopIdleSessionSec {a} s is longer than {b} s",
                       "StopIdleSessionSec de {a} s, plus long que {b} s"),
    "lock.logind": ("the running systemd-logind has another value (not restarted?)",
                    "le systemd-logind en cours a une autre valeur (pas redémarré ?)"),
    "lock.stop_unset": ("StopIdleSessionSec not configured", "StopIdleSessionSec non configuré"),
    "lock.stopped": ("idle sessions stopped", "les sessions inactives sont arrêtées"),
    "lock.idle_delay": ("idle-delay is {v}", "idle-delay vaut {v}"),
    "lock.lock_enabled": ("lock-enabled is {v}", "lock-enabled vaut {v}"),
    "lock.lock_delay": ("lock-delay is {v}", "lock-delay vaut {v}"),
    "lock.count_max": ("ClientAliveCountMax is {a}, not {b}",
                       "ClientAliveCountMax vaut {a} au lieu de {b}"),
    "lock.dconf_update": ("dconf update not run for {x}", "dconf update non lancé pour {x}"),
    "lock.no_system_db": ("no system-db in {f}", "pas de system-db dans {f}"),
    "lock.not_locked": ("not locked: {k}", "non verrouillés : {k}"),
    "lock.no_desktop": ("no desktop (neither dconf nor GNOME Shell installed)",
                        "pas de bureau (ni dconf ni GNOME Shell installé)"),
    # -- passwords ------------------------------------------------------------------------
    "pwd.minlen": ("minlen {a} < {b}", "longueur minimale {a} < {b}"),
    "pwd.minclass": ("minclass {a} < {b}", "types de caractères {a} < {b}"),
    "pwd.class": ("{c} not required ({k}={v})", "{c} non exigé ({k}={v})"),
    "pwd.no_pwquality": ("pam_pwquality is not in common-password: no quality check",
                         "pam_pwquality n'est pas dans common-password : aucun contrôle de qualité"),
    "pwd.ok": ("strength enforced", "robustesse imposée"),
    "pwd.deny": ("deny={a}, expected {b}", "deny={a}, attendu {b}"),
    "pwd.lockout_ok": ("lockout enforced", "blocage imposé"),
    "pwd.no_faillock": ("pam_faillock is not (fully) in the PAM stack: no lockout",
                        "pam_faillock n'est pas (entièrement) dans la pile PAM : aucun blocage"),
    "pwd.unlock": ("unlock_time={a} s < {b} s", "unlock_time={a} s < {b} s"),
    "pwd.encrypt": ("ENCRYPT_METHOD is {a}, not {b}", "ENCRYPT_METHOD vaut {a} au lieu de {b}"),
    "pwd.pam_hash": ("pam_unix hashes new passwords with {m}",
                     "pam_unix chiffre les nouveaux mots de passe avec {m}"),
    "pwd.strong": ("strong hashing", "hachage robuste"),
    "pwd.weak": ("weak hashes: {u}", "hachages faibles : {u}"),
    "pwd.ages": ("{n} account(s) with other ages", "{n} compte(s) avec d'autres durées"),
    "pwd.ages_ok": ("ages as declared", "durées conformes au profil"),
    "pwd.logindefs": ("login.defs {k}={a}, not {b}", "login.defs {k}={a} au lieu de {b}"),
    # -- accounts -------------------------------------------------------------------------
    "acc.missing": ("{n} declared account(s) missing or different",
                    "{n} compte(s) déclaré(s) absent(s) ou différent(s)"),
    "acc.as_declared": ("as declared", "conforme au profil"),
    "acc.all_declared": ("all present as declared", "tous présents comme déclarés"),
    "acc.all_as_declared": ("all as declared", "tous conformes au profil"),
    "acc.generic": ("generic login still usable: {u}", "identifiant générique encore utilisable : {u}"),
    "acc.no_generic": ("no usable generic login", "aucun identifiant générique utilisable"),
    "acc.departed": ("departed account still usable: {u}",
                     "compte d'une personne partie encore utilisable : {u}"),
    "acc.no_departed": ("no usable departed account",
                        "aucun compte de personne partie utilisable"),
    "acc.not_in_sudo": ("declared admins not in sudo: {u}",
                        "administrateurs déclarés absents du groupe sudo : {u}"),
    "acc.undeclared_admins": ("undeclared administrators: {u}", "administrateurs non déclarés : {u}"),
    "acc.empty": ("empty password: {u}", "mot de passe vide : {u}"),
    "acc.no_empty": ("no empty password", "aucun mot de passe vide"),
    "acc.no_empty_v": ("no account with an empty password field",
                       "aucun compte au mot de passe vide"),
    "acc.root_no": ("root cannot log in over SSH", "root ne peut pas se connecter par SSH"),
    "acc.root_yes": ("root may log in ({v})", "root peut se connecter ({v})"),
    "acc.declared_present": (("{n} declared account(s) present with their full name, groups and "
                             "a login shell"),
                             ("{n} compte(s) déclaré(s) présent(s) avec leur nom complet, leurs "
                             "groupes et un shell de connexion")),
    "acc.absent_or_locked": ("{u}: absent, or locked and expired",
                             "{u} : absent, ou verrouillé et expiré"),
    "acc.usable_expired": ("password usable, expired", "mot de passe utilisable, expiré"),
    "acc.usable": ("password usable, not expired", "mot de passe utilisable, non expiré"),
    "acc.locked_not_expired": ("locked, not expired", "verrouillé, non expiré"),
    # -- providers (ESMS-PRV-01..03) ------------------------------------------------------
    "prv.ok": ("every provider account expires with its access, ended ones are locked",
               ("chaque compte de prestataire expire avec son accès, les accès échus sont "
                "verrouillés")),
    "prv.expiry": ("{u} ({p}): account expiry {a} instead of {b} (access until {c})",
                   "{u} ({p}) : le compte expire {a} au lieu du {b} (accès jusqu'au {c})"),
    "prv.not_locked": ("{u} ({p}): access ended on {d} but the account is not locked",
                       "{u} ({p}) : accès échu le {d} mais le compte n'est pas verrouillé"),
    "prv.not_expired": ("{u} ({p}): access ended on {d} but the account is not expired",
                        "{u} ({p}) : accès échu le {d} mais le compte n'est pas expiré"),
    "prv.no_reach": ("{u} ({p}): no access to this host but the account is not locked",
                     ("{u} ({p}) : aucun accès à cette machine mais le compte n'est pas "
                     "verrouillé")),
    "prv.no_reach_exp": ("{u} ({p}): no access to this host but the account is not expired",
                         ("{u} ({p}) : aucun accès à cette machine mais le compte n'est pas "
                         "expiré")),
    "prv.missing": ("provider account {u} ({p}) is missing",
                    "le compte de prestataire {u} ({p}) est absent"),
    "prv.no_tool": ("no remote-control software", "aucun logiciel de prise en main à distance"),
    "prv.declared_tools": ("only declared remote-control software",
                           "seulement des logiciels de prise en main déclarés"),
    "prv.undeclared": ("undeclared remote-control software: {t}",
                       "logiciel de prise en main à distance non déclaré : {t}"),
    "prv.trace_ok": ("SSH logins logged with their key, journal kept {n} days",
                     "connexions SSH journalisées avec leur clé, journal conservé {n} jours"),
    "prv.retention": ("journal MaxRetentionSec {a} is shorter than {n} days plus MaxFileSec {f}",
                      ("MaxRetentionSec du journal ({a}) inférieur à {n} jours plus MaxFileSec "
                      "({f})")),
    "prv.v_retention": (">= {n} days + MaxFileSec", "≥ {n} jours + MaxFileSec"),
    "prv.v_mib": (">= {n} MiB", "≥ {n} Mio"),
    "prv.file_span": (("journal MaxRetentionSec {a} with MaxFileSec 0: a journal file may span "
                      "any time and is deleted whole"),
                      ("MaxRetentionSec du journal ({a}) avec MaxFileSec 0 : un fichier du "
                      "journal peut couvrir une durée quelconque et est supprimé en entier")),
    "prv.max_use": ("journal SystemMaxUse {a} is below {n} MiB",
                    "SystemMaxUse du journal ({a}) inférieur à {n} Mio"),
    "prv.storage": ("journal storage {s}: logs are lost at reboot",
                    "stockage du journal {s} : les journaux sont perdus au redémarrage"),
    "prv.loglevel": ("sshd LogLevel {l}: the key used by each login is not logged",
                     ("sshd LogLevel {l} : la clé utilisée à chaque connexion n'est pas "
                     "journalisée")),
    "prv.no_account": ("no provider account is declared for this host",
                       "aucun compte de prestataire n'est déclaré pour cette machine"),
    "prv.expired_locked": ("expired, locked", "expiré, verrouillé"),
    "prv.expires": ("expires {d}", "expire le {d}"),
    # -- other messages of the Debian rules -----------------------------------------------
    "av.not_asked": ("the profile does not ask for an antivirus on this host",
                     "le profil ne demande pas d'antivirus sur cette machine"),
    "av.no_build": ("the daily database has no readable build time",
                    "la base quotidienne n'a pas de date de construction lisible"),
    "av.fanotify": ("on-access scanning needs fanotify, {x} on this host",
                    "l'analyse à l'accès demande fanotify, {x} sur cette machine"),
    "av.clamd": ("clamd cannot start without a signature database",
                 "clamd ne peut pas démarrer sans base de signatures"),
    "av.not_daily": ("{u} is not daily: {c}", "{u} n'est pas quotidien : {c}"),
    "av.not_running": ("{u} not enabled and running", "{u} n'est pas activé et actif"),
    "bak.not_asked": ("the profile does not back up this host",
                      "le profil ne sauvegarde pas cette machine"),
    "bak.no_restic": ("restic not installed", "restic n'est pas installé"),
    "bak.failed": ("the last backup failed ({r}, exit {c})",
                   "la dernière sauvegarde a échoué ({r}, code {c})"),
    "bak.no_snapshot": ("the off-site repository holds no snapshot of this host",
                        "le dépôt hors site ne contient aucune sauvegarde de cette machine"),
    "bak.snapshot_time": ("unreadable snapshot time {t}", "date de sauvegarde illisible {t}"),
    "bak.no_canary": ("no canary file to test a restore",
                      "aucun fichier témoin pour tester une restauration"),
    "bak.repo_x": ("repository is {r}, not the profile's", "le dépôt est {r}, pas celui du profil"),
    "bak.retention": ("retention {a} instead of {b}", "rétention {a} au lieu de {b}"),
    "bak.no_password": ("repository password file missing or empty",
                        "fichier du mot de passe du dépôt absent ou vide"),
    "bak.runs": ("{u} runs {a} instead of {b}", "{u} lance {a} au lieu de {b}"),
    "bak.restore_failed": ("test restore failed: {e}", "échec de la restauration de test : {e}"),
    "ban.text_absent": ("charter text absent", "texte de la charte absent"),
    "ban.version_absent": ("charter version {v} absent", "version {v} de la charte absente"),
    "ban.no_banner": ("the profile declares no banner (banner.text)",
                      "le profil ne déclare pas de bannière (banner.text)"),
    "ban.sshd_banner": ("sshd banner {f}: {x_t}", "bannière sshd {f} : {x_t}"),
    "lock.no_stopidle": ("systemd {v} has no StopIdleSessionSec (needs 252)",
                         "systemd {v} n'a pas StopIdleSessionSec (version 252 nécessaire)"),
    "lock.logind_runs": ("systemd-logind runs with {v} s", "systemd-logind tourne avec {v} s"),
    "pwd.no_lockout": ("no lockout in the profile (threshold 0, CNIL case 1)",
                       "pas de blocage dans le profil (seuil 0, cas 1 de la CNIL)"),
    "pwd.order": ("pam_pwquality comes after pam_unix", "pam_pwquality vient après pam_unix"),
    "pwd.shorter": ("{k}={v} lets shorter passwords through",
                    "{k}={v} laisse passer des mots de passe plus courts"),
    "pwd.faillock_order": ("pam_faillock lines are not around pam_unix",
                           "les lignes pam_faillock n'encadrent pas pam_unix"),
    "acc.no_sudo": ("management user {u} has no sudo right",
                    "le compte de l'infogérant {u} n'a pas de droit sudo"),
    "acc.root_allowed": ("the profile allows root over SSH", "le profil autorise root par SSH"),
    "acc.full_name": ("full name {n}", "nom complet {n}"),
    "acc.shell": ("shell {s}", "shell {s}"),
    "acc.empty_v": ("empty password", "mot de passe vide"),
    "fw.no_nft": ("nftables not installed", "nftables n'est pas installé"),
    "fw.lo": ("loopback not accepted", "la boucle locale n'est pas acceptée"),
    "fw.established": ("established connections not accepted",
                       "les connexions établies ne sont pas acceptées"),
    "fw.service_state": ("nftables.service is {s}: the ruleset is lost at boot",
                         "nftables.service est {s} : les règles sont perdues au démarrage"),
    "fw.dual": ("default deny does not cover both IPv4 and IPv6",
                "le refus par défaut ne couvre pas à la fois IPv4 et IPv6"),
    "org.ok": ("evidence present and fresh", "élément présent et à jour"),
    "org.future": ("dated in the future", "daté dans le futur"),
    "org.old": ("older than {n} months (expired {d})", "plus de {n} mois (échu le {d})"),
    "org.not_date": ("not a date: {v}", "pas une date : {v}"),
    # -- Windows rules ----------------------------------------------------------------------
    "w.not_set": ("{k} is not set", "{k} n'est pas défini"),
    "w.users_ok": ("declared users present", "utilisateurs déclarés présents"),
    "w.never_expires": ("{u}: password never expires", "{u} : le mot de passe n'expire jamais"),
    "w.no_user": ("{u} does not exist", "{u} n'existe pas"),
    "w.generic": ("generic login {u} is enabled", "l'identifiant générique {u} est actif"),
    "w.departed": ("departed user {u} is enabled", "le compte de {u}, partie, est actif"),
    "w.no_departed": ("no usable departed user", "aucun compte de personne partie utilisable"),
    "w.admins_ok": ("admin rights limited", "droits d'administration limités"),
    "w.password_needed": ("every account needs a password", "chaque compte exige un mot de passe"),
    "w.no_password": ("password not required for {u}", "mot de passe non exigé pour {u}"),
    "w.guest": ("the Guest account ({u}) is enabled", "le compte Invité ({u}) est actif"),
    "w.defender_on": ("Defender real-time protection on",
                      "protection en temps réel de Defender active"),
    "w.realtime_off": ("real-time protection is off", "la protection en temps réel est désactivée"),
    "w.signatures": ("signatures {n} days old > {m}", "signatures vieilles de {n} jours > {m}"),
    "w.charter": ("the charter is shown at logon", "la charte est affichée à l'ouverture de session"),
    "w.inbound": ("{p} profile inbound default is {v}",
                  "profil {p} : action entrante par défaut {v}"),
    "w.profile_off": ("{p} profile is {v}", "profil {p} : actif = {v}"),
    "w.fw_on": ("firewall on, inbound blocked", "pare-feu actif, entrées bloquées"),
    "w.listening": ("listening ports opened by rules outside the profile: {p}",
                    "ports en écoute ouverts par des règles hors profil : {p}"),
    "w.no_rule": ("no enabled rule {r}", "aucune règle active {r}"),
    "w.mgmt_ok": ("management access limited to the MSP",
                  "accès d'administration limité à l'infogérant"),
    "w.lock_ok": ("the session locks after the idle time",
                  "la session se verrouille après le délai d'inactivité"),
    "w.min_length": ("minimum length {a} < {b}", "longueur minimale {a} < {b}"),
    "w.complexity": ("password complexity is off", "la complexité des mots de passe est désactivée"),
    "w.strength_ok": ("password strength enforced", "robustesse des mots de passe imposée"),
    "w.lockout_duration": ("lockout duration {a} min < {b}", "durée de blocage {a} min < {b}"),
    "w.lockout_threshold": ("lockout threshold {a}, expected {b}", "seuil de blocage {a}, attendu {b}"),
    "w.window": ("observation window {a} min < {b}", "fenêtre d'observation {a} min < {b}"),
    "w.history": ("history {a} < {b}", "historique {a} < {b}"),
    "w.age": ("{u}: password {a} days old > {b}", "{u} : mot de passe vieux de {a} jours > {b}"),
    "w.min_age": ("minimum age {a} < {b}", "durée minimale {a} < {b}"),
    "w.aging_ok": ("password aging enforced", "durées des mots de passe imposées"),
    "w.expire_after": ("passwords expire after {n} days", "les mots de passe expirent après {n} jours"),
    "w.no_expiry": ("the profile sets no expiry", "le profil ne fixe pas d'expiration"),
    "w.restarts": ("restarts follow the profile", "les redémarrages suivent le profil"),
    "w.wu_disabled": ("the Windows Update service is disabled{n_t}",
                      "le service Windows Update est désactivé{n_t}"),
    "w.updates_on": ("automatic updates on{n_t}", "mises à jour automatiques actives{n_t}"),
    "w.scheduled": ("installation scheduled in the window{n_t}",
                    "installation planifiée dans la fenêtre{n_t}"),
    "w.note_channel": ((" (Windows: Windows has no security-only channel: monthly cumulative "
                       "quality updates (security and fixes) are installed"),
                       (" (Windows : Windows n'a pas de canal « sécurité seule » : les mises à "
                       "jour cumulatives mensuelles (sécurité et correctifs) sont installées")),
    "w.note_window": ((" (Windows: Windows does not bound the installation to the window's "
                      "duration"),
                      (" (Windows : Windows ne borne pas l'installation à la durée de la "
                      "fenêtre")),
    "w.not_set_note": ("{k} is not set{n_t}", "{k} n'est pas défini{n_t}"),
    "w.drivers": ("drivers are excluded)", "les pilotes sont exclus)"),
    "w.starts": ("it starts at the scheduled time)", "elle commence à l'heure prévue)"),
    # -- common values ----------------------------------------------------------------------
    "v.not_installed": ("not installed", "non installé"),
    "v.absent": ("absent", "absent"),
    "v.missing": ("missing", "absent"),
    "v.never": ("never", "jamais"),
    "v.unset": ("unset", "non défini"),
    "v.none": ("none", "aucun"),
    "v.at_least_one": ("at least one", "au moins un"),
    "v.not_declared": ("not declared", "non déclaré"),
}
# found / expected values of the rules (issue #14), kept in their own module (file size)
MESSAGES.update(VALUES)
MESSAGES.update(PROVIDERS_WINDOWS)


@cache
def _compiled() -> tuple[tuple[re.Pattern[str], str], ...]:
    out = []
    for en, fr in MESSAGES.values():
        parts = re.split(r"\{(\w+)\}", en)
        regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)"
                        for i, p in enumerate(parts))
        out.append((re.compile(f"^{regex}$", re.DOTALL), fr))
    # longer (more specific) templates first: "{p} open from any source (no firewall)"
    # before "{p} open from any source"
    return tuple(sorted(out, key=lambda x: -len(x[0].pattern)))


def _part(text: str) -> str | None:
    for regex, fr in _compiled():
        m = regex.match(text)
        if m:
            values = {k: (translate(v, "fr") if k.endswith("_t") else v)
                      for k, v in m.groupdict().items()}
            return fr.format(**values)
    return None


def translate(message: str, lang: str = "fr") -> str:
    """``message`` (English, parts joined by "; ") in ``lang``; unknown parts unchanged."""
    if lang == "en" or not message:
        return message
    return "; ".join(_part(p) or p for p in message.split("; "))


def untranslated(message: str) -> list[str]:
    """The parts of ``message`` no template knows (tests)."""
    return [p for p in message.split("; ") if p and _part(p) is None]


def key_text(key: str, lang: str = "fr") -> str:
    """A key of a found / expected dictionary in ``lang`` (identifiers stay as they are)."""
    return key if lang == "en" else KEYS.get(key, key)
