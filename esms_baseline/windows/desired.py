"""The desired state of a Windows host, computed from the role variables of the contract.

This module is the ONE place where the profile's values become Windows settings: registry
values, local security policy keys (``secedit`` ``[System Access]``), firewall rules and the
few per-account settings. The plan passes the result to Ansible as one variable,
``esms_windows_desired`` (``render_desired_state(host_vars)``); the Windows task files of the
roles only loop over it (they never recompute a value), and the conformance rules compare the
host with ``desired_state(host_vars)``. ``esms-baseline plan --host NAME`` shows it.

Values that Windows cannot express exactly are never silently weakened: they either raise
:class:`DesiredStateError` (the profile cannot be applied to a Windows host) or are listed in
``limitations`` (shown by the plan, repeated as warnings by the tasks and in check messages).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from esms_baseline.errors import EsmsError

if TYPE_CHECKING:
    from esms_baseline.windows.backup import WindowsBackup

# ------------------------------------------------------------------------ registry keys
#: "Interactive logon: Machine inactivity limit" and the legal notice live here
#: (LegalNoticeCaption/LegalNoticeText, REG_SZ: security-policy-settings pages "Interactive
#: logon: Message title/text for users attempting to log on").
KEY_SYSTEM_POLICIES = r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System"
#: Screen saver policy: a USER policy, relative to each user's hive (HKU\<SID>, HKU\.DEFAULT,
#: the default profile's NTUSER.DAT). Microsoft Learn, Policy CSP - ADMX_ControlPanelDisplay
#: (CPL_Personalization_EnableScreenSaver / ScreenSaverIsSecure / ScreenSaverTimeOut: scope
#: User, key Software\Policies\Microsoft\Windows\Control Panel\Desktop, REG_SZ)
#: https://learn.microsoft.com/en-us/windows/client-management/mdm/policy-csp-admx-controlpaneldisplay
#: Windows does not read these values under HKLM: a machine-wide copy is no evidence.
USER_KEY_DESKTOP_POLICIES = r"Software\Policies\Microsoft\Windows\Control Panel\Desktop"
#: ScreenSaverGracePeriod: seconds between the screen saver starting and the lock (REG_SZ; MSS
#: legacy setting "MSS: (ScreenSaverGracePeriod) The time in seconds before the screen saver
#: grace period expires", Microsoft Security Compliance Toolkit MSS-legacy.admx).
KEY_WINLOGON = r"HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon"
#: RelaxMinimumPasswordLengthLimits (DWORD; Windows 10 2004+, Server 2022): security option
#: "Relax minimum password length limits", Microsoft Learn "Minimum password length"
#: https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-10/security/threat-protection/security-policy-settings/minimum-password-length
KEY_SAM = r"HKLM:\SYSTEM\CurrentControlSet\Control\SAM"
#: LimitBlankPasswordUse (DWORD 1): "Accounts: Limit local account use of blank passwords to
#: console logon only" https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-10/security/threat-protection/security-policy-settings/accounts-limit-local-account-use-of-blank-passwords-to-console-logon-only
KEY_LSA = r"HKLM:\SYSTEM\CurrentControlSet\Control\Lsa"
#: Windows Update policy. AU: NoAutoUpdate, AUOptions (4 = download and install on the
#: schedule), ScheduledInstallDay, ScheduledInstallTime (hour 0..23), NoAutoRebootWithLoggedOnUsers
#: (all DWORD): Microsoft Learn "Manage additional Windows Update settings", "Configuring
#: Automatic Updates by editing the registry"
#: https://learn.microsoft.com/en-us/windows/deployment/update/waas-wu-settings ;
#: ScheduledInstallEveryWeek and ExcludeWUDriversInQualityUpdate (KEY_WU): Policy CSP - Update,
#: ADMX mapping https://learn.microsoft.com/en-us/windows/client-management/mdm/policy-csp-update
KEY_WU = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate"
KEY_AU = KEY_WU + r"\AU"

#: Largest InactivityTimeoutSecs Windows accepts ("Interactive logon: Machine inactivity limit",
#: a computer policy under KEY_SYSTEM_POLICIES, 0..599940 s:
#: https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-10/security/threat-protection/security-policy-settings/interactive-logon-machine-inactivity-limit).
INACTIVITY_MAX_SECONDS = 599940
#: Minimum password lengths above this need RelaxMinimumPasswordLengthLimits.
LEGACY_MAX_PASSWORD_LENGTH = 14
#: Largest minimum length with the relaxed limits.
RELAXED_MAX_PASSWORD_LENGTH = 128
#: First Windows build with RelaxMinimumPasswordLengthLimits (Windows 10 2004 = 19041;
#: Server 2022 = 20348; Server 2019 = 17763 does not have it).
RELAXED_LENGTH_MIN_BUILD = 19041
#: secedit's value for "passwords never expire" (the UI shows 0).
NEVER_EXPIRES = -1
#: Default of the Windows-only history size (not in the profile).
DEFAULT_HISTORY_SIZE = 5
#: AlwaysAutoRebootAtScheduledTimeMinutes: the restart timer (15..180 minutes) that
#: AlwaysAutoRebootAtScheduledTime needs ("Manage device restarts after updates",
#: https://learn.microsoft.com/en-us/windows/deployment/update/waas-restart). 15 = restart as
#: early as Windows allows after the installation, inside the maintenance window.
AUTO_REBOOT_TIMER_MINUTES = 15
#: Windows Update ScheduledInstallDay: 0 = every day, 1 = Sunday ... 7 = Saturday (wuapi.h
#: AutomaticUpdatesScheduledInstallationDay, ausidEveryDay = 0 ... ausidEverySaturday = 7:
#: https://learn.microsoft.com/en-us/windows/win32/api/wuapi/ne-wuapi-automaticupdatesscheduledinstallationday).
WU_DAYS = {"sun": 1, "mon": 2, "tue": 3, "wed": 4, "thu": 5, "fri": 6, "sat": 7}
_WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Built-in firewall profiles; every one must be on with inbound blocked.
FIREWALL_PROFILES = ("Domain", "Private", "Public")
#: Prefix of every firewall rule the baseline owns.
RULE_PREFIX = "ESMS "
RDP_PORT = 3389
#: Longest local account name Windows accepts (sAMAccountName).
MAX_LOGIN_LENGTH = 20

RegType = Literal["dword", "string"]


class DesiredStateError(EsmsError):
    """The role variables cannot be turned into a Windows state (value out of Windows' range)."""


@dataclass(frozen=True)
class RegistryValue:
    control: str
    path: str
    name: str
    type: RegType
    data: int | str

    def to_dict(self) -> dict[str, Any]:
        return {"control": self.control, "path": self.path, "name": self.name,
                "type": self.type, "data": self.data}


@dataclass(frozen=True)
class UserRegistryValue:
    r"""A user-scope policy value, written in every user's hive (``subkey`` is relative to
    the hive root: HKU\<SID>, HKU\.DEFAULT, the default profile)."""

    control: str
    subkey: str
    name: str
    type: RegType
    data: int | str

    def to_dict(self) -> dict[str, Any]:
        return {"control": self.control, "subkey": self.subkey, "name": self.name,
                "type": self.type, "data": self.data}


@dataclass(frozen=True)
class SecpolValue:
    control: str
    section: str
    key: str
    value: int

    def to_dict(self) -> dict[str, Any]:
        return {"control": self.control, "section": self.section, "key": self.key,
                "value": self.value}


@dataclass(frozen=True)
class FirewallRule:
    """An inbound allow rule named ``ESMS <name>``; ``remote_addresses`` empty = any."""

    control: str
    name: str
    port: int
    protocol: Literal["tcp", "udp"]
    remote_addresses: tuple[str, ...]

    @property
    def remote(self) -> list[str]:
        return list(self.remote_addresses) or ["Any"]

    def to_dict(self) -> dict[str, Any]:
        return {"control": self.control, "name": self.name, "port": self.port,
                "protocol": self.protocol, "remote_addresses": self.remote}


@dataclass(frozen=True)
class WindowsDesiredState:
    registry: tuple[RegistryValue, ...]
    secpol: tuple[SecpolValue, ...]
    firewall_rules: tuple[FirewallRule, ...]
    #: (control, text): what Windows cannot enforce exactly as the profile says
    limitations: tuple[tuple[str, str], ...] = ()
    firewall_profiles: tuple[str, ...] = FIREWALL_PROFILES
    #: the minimum Windows build the password length needs (None: any build)
    min_build_for_password_length: int | None = None
    #: per-account maximum age for the declared admins (0 = no expiry); Windows has one
    #: machine-wide maximum, so admins are expired one by one (ESMS-PWD-04)
    admin_max_age_days: int = 0
    #: members the local Administrators group may have besides the built-in ones
    administrators: tuple[str, ...] = ()
    antivirus_realtime: bool = True
    antivirus_max_signature_age_days: int = 2
    #: user-scope policy values (every user's hive): the secure screen saver (ESMS-LOCK-04)
    user_registry: tuple[UserRegistryValue, ...] = ()
    #: ESMS-BAK-01/02 (None: the profile does not back this host up)
    backup: WindowsBackup | None = None

    def registry_for(self, control: str) -> list[RegistryValue]:
        return [r for r in self.registry if r.control == control]

    def user_registry_for(self, control: str) -> list[UserRegistryValue]:
        return [r for r in self.user_registry if r.control == control]

    def secpol_for(self, control: str) -> list[SecpolValue]:
        return [s for s in self.secpol if s.control == control]

    def rules_for(self, control: str) -> list[FirewallRule]:
        return [r for r in self.firewall_rules if r.control == control]

    def limitations_for(self, control: str) -> list[str]:
        return [t for c, t in self.limitations if c == control]


_MISSING = object()


def _get(v: Mapping[str, Any], name: str, default: Any = _MISSING) -> Any:
    if name in v and v[name] is not None:
        return v[name]
    if default is _MISSING:
        raise DesiredStateError(f"role variable {name} is missing")
    return default


def _int(v: Mapping[str, Any], name: str, default: Any = _MISSING) -> int:
    raw = _get(v, name, default)
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise DesiredStateError(f"{name} must be an integer, not {raw!r}")
    try:
        return int(raw)
    except ValueError as exc:
        raise DesiredStateError(f"{name} must be an integer, not {raw!r}") from exc


# ------------------------------------------------------------------------ per area


def session_lock(v: Mapping[str, Any]) -> tuple[list[RegistryValue], list[UserRegistryValue]]:
    """ESMS-LOCK-04: machine inactivity limit and grace period (machine), secure screen saver
    (user policy, written in every user's hive)."""
    minutes = _int(v, "esms_session_lock_idle_minutes")
    seconds = minutes * 60
    if not 0 < seconds <= INACTIVITY_MAX_SECONDS:
        raise DesiredStateError(
            f"ESMS-LOCK-04: esms_session_lock_idle_minutes={minutes} gives {seconds} s; Windows "
            f"accepts 1 to {INACTIVITY_MAX_SECONDS} s (InactivityTimeoutSecs), i.e. 1 to "
            f"{INACTIVITY_MAX_SECONDS // 60} minutes"
        )
    grace = _int(v, "esms_session_lock_lock_delay_seconds", 0)
    if grace < 0:
        raise DesiredStateError(f"ESMS-LOCK-04: lock delay {grace} s is negative")
    c = "ESMS-LOCK-04"
    machine = [
        RegistryValue(c, KEY_SYSTEM_POLICIES, "InactivityTimeoutSecs", "dword", seconds),
        RegistryValue(c, KEY_WINLOGON, "ScreenSaverGracePeriod", "string", str(grace)),
    ]
    user = [
        UserRegistryValue(c, USER_KEY_DESKTOP_POLICIES, "ScreenSaveActive", "string", "1"),
        UserRegistryValue(c, USER_KEY_DESKTOP_POLICIES, "ScreenSaverIsSecure", "string", "1"),
        UserRegistryValue(c, USER_KEY_DESKTOP_POLICIES, "ScreenSaveTimeOut", "string",
                          str(seconds)),
    ]
    return machine, user


def passwords(v: Mapping[str, Any]) -> tuple[list[SecpolValue], list[RegistryValue],
                                            list[tuple[str, str]], int | None]:
    """ESMS-PWD-01/02/04: [System Access] keys, the relaxed-length switch, limitations."""
    sec: list[SecpolValue] = []
    reg: list[RegistryValue] = []
    lim: list[tuple[str, str]] = []
    # secedit [System Access] keys as win_security_policy documents them; ranges from the
    # Microsoft Learn security-policy-settings pages (threshold 0..999, duration 0..99999 min,
    # history 0..24, ages 0..999/0..998 days, -1 = never) under
    # https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-10/security/threat-protection/security-policy-settings/
    sa = "System Access"
    # PWD-01: length and complexity
    length = _int(v, "esms_passwords_min_length")
    if not 0 < length <= RELAXED_MAX_PASSWORD_LENGTH:
        raise DesiredStateError(
            f"ESMS-PWD-01: minimum password length {length}: Windows accepts 1 to "
            f"{RELAXED_MAX_PASSWORD_LENGTH}")
    min_build = None
    if length > LEGACY_MAX_PASSWORD_LENGTH:
        reg.append(RegistryValue("ESMS-PWD-01", KEY_SAM, "RelaxMinimumPasswordLengthLimits",
                                 "dword", 1))
        min_build = RELAXED_LENGTH_MIN_BUILD
    sec.append(SecpolValue("ESMS-PWD-01", sa, "MinimumPasswordLength", length))
    required = list(_get(v, "esms_passwords_required_classes", []))
    min_classes = _int(v, "esms_passwords_min_classes", 0)
    complexity = 1 if (required or min_classes >= 2) else 0
    sec.append(SecpolValue("ESMS-PWD-01", sa, "PasswordComplexity", complexity))
    if min_classes > 3 or required:
        what = ", ".join(required) if required else f"{min_classes} of the 4 classes"
        lim.append(("ESMS-PWD-01",
                    (f"the profile requires {what}; Windows complexity (PasswordComplexity=1) "
                    "requires 3 of 5 categories and cannot require given classes: passwords "
                    "missing one of them are accepted (use a password filter or an exception)")))
    # PWD-02: lockout
    threshold = _int(v, "esms_passwords_lockout_threshold")
    if not 0 <= threshold <= 999:
        raise DesiredStateError(f"ESMS-PWD-02: lockout threshold {threshold}: Windows accepts 0 to 999")
    sec.append(SecpolValue("ESMS-PWD-02", sa, "LockoutBadCount", threshold))
    if threshold > 0:
        unlock = _int(v, "esms_passwords_lockout_unlock_minutes")
        if not 1 <= unlock <= 99999:
            raise DesiredStateError(
                f"ESMS-PWD-02: lockout duration {unlock} min: Windows accepts 1 to 99999")
        # the observation window must not exceed the duration: same value for both
        sec.append(SecpolValue("ESMS-PWD-02", sa, "ResetLockoutCount", unlock))
        sec.append(SecpolValue("ESMS-PWD-02", sa, "LockoutDuration", unlock))
    # PWD-04: ages and history
    max_age = _int(v, "esms_passwords_max_age_days", 0)
    min_age = _int(v, "esms_passwords_min_age_days", 1)
    history = _int(v, "esms_passwords_windows_history_size", DEFAULT_HISTORY_SIZE)
    if not 0 <= max_age <= 999:
        raise DesiredStateError(f"ESMS-PWD-04: maximum age {max_age} days: Windows accepts 0 to 999")
    if max_age and min_age >= max_age:
        raise DesiredStateError(
            f"ESMS-PWD-04: minimum age {min_age} days must be below the maximum age {max_age}")
    if not 0 <= min_age <= 998:
        raise DesiredStateError(f"ESMS-PWD-04: minimum age {min_age} days: Windows accepts 0 to 998")
    if not 0 <= history <= 24:
        raise DesiredStateError(f"ESMS-PWD-04: history size {history}: Windows accepts 0 to 24")
    sec.append(SecpolValue("ESMS-PWD-04", sa, "MaximumPasswordAge",
                           max_age if max_age else NEVER_EXPIRES))
    sec.append(SecpolValue("ESMS-PWD-04", sa, "MinimumPasswordAge", min_age))
    sec.append(SecpolValue("ESMS-PWD-04", sa, "PasswordHistorySize", history))
    admin_age = _int(v, "esms_passwords_admin_max_age_days", 0)
    if max_age and (not admin_age or admin_age > max_age):
        lim.append(("ESMS-PWD-04",
                    (f"Windows has one machine-wide maximum age: {max_age} days also applies to "
                    "the administrators (and to the management account unless its password "
                    "never expires)")))
    return sec, reg, lim, min_build


def _start_minutes(text: str) -> int:
    try:
        hh, mm = text.split(":")
        h, m = int(hh), int(mm)
    except ValueError as exc:
        raise DesiredStateError(f"ESMS-UPD-02: window start {text!r} is not HH:MM") from exc
    if not (0 <= h <= 23 and 0 <= m <= 59):
        raise DesiredStateError(f"ESMS-UPD-02: window start {text!r} is not a time of day")
    return h * 60 + m


def updates(v: Mapping[str, Any]) -> tuple[list[RegistryValue], list[tuple[str, str]]]:
    """ESMS-UPD-01..03: Windows Update policy (automatic download, scheduled install)."""
    reg: list[RegistryValue] = []
    lim: list[tuple[str, str]] = []
    scope = str(_get(v, "esms_updates_scope", "security"))
    reg += [
        RegistryValue("ESMS-UPD-01", KEY_AU, "NoAutoUpdate", "dword", 0),
        RegistryValue("ESMS-UPD-01", KEY_AU, "AUOptions", "dword", 4),
        # quality (security) updates without drivers for "security"; drivers too for "all"
        RegistryValue("ESMS-UPD-01", KEY_WU, "ExcludeWUDriversInQualityUpdate", "dword",
                      1 if scope == "security" else 0),
    ]
    if scope == "security":
        lim.append(("ESMS-UPD-01",
                    ("Windows has no security-only channel: monthly cumulative quality updates "
                    "(security and fixes) are installed; drivers are excluded")))
    days = [str(d) for d in _get(v, "esms_updates_window_days", ["sun"])]
    unknown = [d for d in days if d not in WU_DAYS]
    if not days or unknown:
        raise DesiredStateError(f"ESMS-UPD-02: window days {days} (expected mon..sun)")
    start = _start_minutes(str(_get(v, "esms_updates_window_start", "03:00")))
    duration = _int(v, "esms_updates_window_duration_minutes", 120)
    hour = math.ceil(start / 60)
    if hour * 60 - start >= duration or hour > 23:
        raise DesiredStateError(
            f"ESMS-UPD-02: Windows Update installs on the hour (ScheduledInstallTime); the window "
            f"{start // 60:02d}:{start % 60:02d} + {duration} min contains no full hour on the "
            "same day")
    if hour * 60 != start:
        lim.append(("ESMS-UPD-02", (f"installation starts at {hour:02d}:00, the first full hour "
                                   "of the window")))
    if set(days) == set(WU_DAYS):
        day = 0
    else:
        first = next(d for d in _WEEK if d in days)
        day = WU_DAYS[first]
        if len(set(days)) > 1:
            lim.append(("ESMS-UPD-02",
                        (f"Windows Update schedules one day or every day: only {first} of "
                        f"{', '.join(days)} is used")))
    lim.append(("ESMS-UPD-02", ("Windows does not bound the installation to the window's "
                               "duration; it starts at the scheduled time")))
    reg += [
        RegistryValue("ESMS-UPD-02", KEY_AU, "ScheduledInstallDay", "dword", day),
        RegistryValue("ESMS-UPD-02", KEY_AU, "ScheduledInstallTime", "dword", hour),
        RegistryValue("ESMS-UPD-02", KEY_AU, "ScheduledInstallEveryWeek", "dword", 1),
    ]
    reboot = str(_get(v, "esms_updates_reboot", "in_window"))
    if reboot not in ("never", "in_window"):
        raise DesiredStateError(f"ESMS-UPD-03: reboot {reboot!r} (expected never or in_window)")
    in_window = reboot == "in_window"
    reg += [
        RegistryValue("ESMS-UPD-03", KEY_AU, "NoAutoRebootWithLoggedOnUsers", "dword",
                      0 if in_window else 1),
        RegistryValue("ESMS-UPD-03", KEY_AU, "AlwaysAutoRebootAtScheduledTime", "dword",
                      1 if in_window else 0),
    ]
    if in_window:
        # without the timer, "Always automatically restart at the scheduled time" is incomplete
        reg.append(RegistryValue("ESMS-UPD-03", KEY_AU, "AlwaysAutoRebootAtScheduledTimeMinutes",
                                 "dword", AUTO_REBOOT_TIMER_MINUTES))
    if not in_window:
        lim.append(("ESMS-UPD-03", ("Windows never restarts automatically while a user is logged "
                                   "on; with nobody logged on it may restart after installing")))
    return reg, lim


def firewall(v: Mapping[str, Any]) -> list[FirewallRule]:
    """ESMS-FW-02/03: one allow rule per declared service, one per management port."""
    rules: list[FirewallRule] = []
    sources = tuple(str(s) for s in _get(v, "esms_firewall_management_sources", []))
    if not sources:
        raise DesiredStateError("ESMS-FW-03: no management source: the MSP would be locked out")
    ports = [int(p) for p in _get(v, "esms_firewall_management_ports", [])]
    if bool(_get(v, "esms_firewall_windows_allow_rdp", False)) and RDP_PORT not in ports:
        ports.append(RDP_PORT)
    for p in ports:
        rules.append(FirewallRule("ESMS-FW-03", f"{RULE_PREFIX}management {p}/tcp", p, "tcp",
                                  sources))
    for s in _get(v, "esms_firewall_allowed_services", []):
        proto = str(s.get("protocol", "tcp"))
        if proto not in ("tcp", "udp"):
            raise DesiredStateError(f"ESMS-FW-02: service {s.get('name')}: protocol {proto!r}")
        rules.append(FirewallRule("ESMS-FW-02", f"{RULE_PREFIX}{s['name']}", int(s["port"]),
                                  "tcp" if proto == "tcp" else "udp",
                                  tuple(str(x) for x in s.get("sources") or ())))
    names = [r.name for r in rules]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DesiredStateError(f"ESMS-FW-02: two firewall rules would be named {dup}")
    return rules


def banner(v: Mapping[str, Any]) -> list[RegistryValue]:
    """ESMS-BAN-01: legal notice shown before logon (nothing when the profile has none)."""
    text = str(_get(v, "esms_banner_text", "") or "").strip()
    if not text:
        return []
    version = str(_get(v, "esms_banner_charter_version", "") or "").strip()
    caption = f"Charte informatique (version {version})" if version else "Charte informatique"
    return [
        RegistryValue("ESMS-BAN-01", KEY_SYSTEM_POLICIES, "LegalNoticeCaption", "string", caption),
        RegistryValue("ESMS-BAN-01", KEY_SYSTEM_POLICIES, "LegalNoticeText", "string", text),
    ]


def administrators(v: Mapping[str, Any]) -> tuple[str, ...]:
    """Declared admins (present) and the management account: who may be an administrator."""
    mgmt = str(_get(v, "esms_management_user"))
    long_ = [str(u["login"]) for u in _get(v, "esms_accounts_users", [])
             if len(str(u["login"])) > MAX_LOGIN_LENGTH]
    if long_:
        raise DesiredStateError(
            f"ESMS-ACC-01: Windows local account names have at most {MAX_LOGIN_LENGTH} "
            f"characters: {', '.join(long_)}")
    admins = [str(a) for a in _get(v, "esms_accounts_admins", [])]
    admins += [u["login"] for u in _get(v, "esms_accounts_users", [])
               if u.get("admin") and u.get("state", "present") == "present"]
    out: list[str] = []
    for a in [*admins, mgmt]:
        if a not in out:
            out.append(a)
    return tuple(out)


# ------------------------------------------------------------------------ entry points


def desired_state(host_vars: Mapping[str, Any]) -> WindowsDesiredState:
    """The Windows state the roles must produce for a host with these role variables."""
    from esms_baseline.windows.backup import windows_backup

    reg: list[RegistryValue] = []
    lim: list[tuple[str, str]] = []
    lock_machine, lock_user = session_lock(host_vars)
    reg += lock_machine
    sec, pw_reg, pw_lim, min_build = passwords(host_vars)
    reg += pw_reg
    lim += pw_lim
    up_reg, up_lim = updates(host_vars)
    reg += up_reg
    lim += up_lim
    reg.append(RegistryValue("ESMS-ACC-05", KEY_LSA, "LimitBlankPasswordUse", "dword", 1))
    reg += banner(host_vars)
    rules = firewall(host_vars)
    age = _int(host_vars, "esms_antivirus_max_signature_age_days", 2)
    if age < 1:
        raise DesiredStateError(f"ESMS-AV-02: maximum signature age {age} days (at least 1)")
    scan = str(_get(host_vars, "esms_antivirus_scan", "scheduled"))
    if scan == "scheduled":
        lim.append(("ESMS-AV-01", ("on Windows, Microsoft Defender real-time protection is "
                                  "required even though the profile asks for scheduled scans")))
    return WindowsDesiredState(
        registry=tuple(reg),
        secpol=tuple(sec),
        firewall_rules=tuple(rules),
        limitations=tuple(lim),
        min_build_for_password_length=min_build,
        admin_max_age_days=_int(host_vars, "esms_passwords_admin_max_age_days", 0),
        administrators=administrators(host_vars),
        antivirus_max_signature_age_days=age,
        user_registry=tuple(lock_user),
        backup=windows_backup(host_vars),
    )


def to_ansible(state: WindowsDesiredState) -> dict[str, Any]:
    """The ``esms_windows_desired`` variable: plain lists and dicts the tasks loop over."""
    return {
        "registry": [r.to_dict() for r in state.registry],
        "user_registry": [r.to_dict() for r in state.user_registry],
        "backup": state.backup.to_dict() if state.backup else None,
        "secpol": [s.to_dict() for s in state.secpol],
        "firewall_profiles": list(state.firewall_profiles),
        "firewall_inbound_action": "block",
        "firewall_rules": [r.to_dict() for r in state.firewall_rules],
        "min_build_for_password_length": state.min_build_for_password_length,
        "admin_max_age_days": state.admin_max_age_days,
        "administrators": list(state.administrators),
        "antivirus": {"realtime": state.antivirus_realtime,
                      "max_signature_age_days": state.antivirus_max_signature_age_days},
        "limitations": [{"control": c, "text": t} for c, t in state.limitations],
    }


def render_desired_state(host_vars: Mapping[str, Any]) -> dict[str, Any]:
    """``to_ansible(desired_state(host_vars))``: what the plan passes as
    ``esms_windows_desired`` and what ``esms-baseline plan --host`` shows.

    Raises DesiredStateError when a value is out of Windows' range."""
    return to_ansible(desired_state(host_vars))
