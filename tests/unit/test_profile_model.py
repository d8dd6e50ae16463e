"""The typed site profile: defaults, preset resolution, group overrides, exceptions."""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
from pathlib import Path

import pytest

import esms_baseline
from esms_baseline.catalogue import load_catalogue
from esms_baseline.profile import SecretRef, SiteProfile, load_profile
from esms_baseline.profile.providers import sector_vars

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "profiles" / "valid"
EXAMPLE = ROOT / "examples" / "site.yml"
TODAY = datetime.date(2026, 11, 23)


def load(name: str) -> SiteProfile:
    return load_profile(DATA / f"{name}.yml", today=TODAY)


def test_exported_from_package() -> None:
    assert esms_baseline.load_profile is load_profile
    assert esms_baseline.SiteProfile is SiteProfile


def test_profile_is_frozen() -> None:
    p = load("minimal-inline")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.site = p.site  # type: ignore[misc]
    with pytest.raises(TypeError):
        p.raw["site"] = {}  # type: ignore[index]


def _value(p: SiteProfile, profile_path: str) -> object:
    """The effective value the model holds for a catalogue profile_path."""
    table = {
        "updates.scope": p.updates.scope,
        "updates.maintenance_window.days": list(p.updates.window_days),
        "updates.maintenance_window.start": p.updates.window_start,
        "updates.maintenance_window.duration_minutes": p.updates.window_duration_minutes,
        "updates.reboot": p.updates.reboot,
        "firewall.allowed_services": list(p.firewall.allowed_services),
        "antivirus.scan": p.antivirus.scan,
        "antivirus.max_signature_age_days": p.antivirus.max_signature_age_days,
        "backup.paths": list(p.backup.paths),
        "backup.max_age_hours": p.backup.max_age_hours,
        "session_lock.idle_minutes": p.session_lock.idle_minutes,
        "session_lock.lock_delay_seconds": p.session_lock.lock_delay_seconds,
        "passwords.preset": p.passwords.preset,
        "passwords.hash_method": p.passwords.hash_method,
        "passwords.max_age_days": p.passwords.max_age_days,
        "passwords.admin_max_age_days": p.passwords.admin_max_age_days,
        "accounts.users": list(p.accounts.users),
        "accounts.forbidden_generic_logins": list(p.accounts.forbidden_generic_logins),
        "accounts.local_allowlist": list(p.accounts.local_allowlist),
        "organisation.max_age_months": p.organisation.max_age_months,
    }
    sector = sector_vars(p, p.hosts[0])
    table |= {
        "updates.end_of_support.warn_days": sector["esms_updates_eol_warn_days"],
        "updates.end_of_support.count_debian_lts": sector["esms_updates_eol_count_debian_lts"],
        "providers": list(sector["esms_providers_accounts"]),
        "providers_trace.log_retention_days": sector["esms_providers_log_retention_days"],
        "providers_trace.journal_max_use_mib": sector["esms_providers_journal_max_use_mib"],
    }
    return table[profile_path]


def test_defaults_follow_the_catalogue() -> None:
    p = load_profile(ROOT / "examples" / "site-minimal.yml", today=TODAY)
    checked = 0
    for control in load_catalogue():
        for param in control.parameters:
            if param.default is None or param.profile_path == "firewall.management.sources":
                continue
            assert _value(p, param.profile_path) == param.default, param.profile_path
            checked += 1
    assert checked >= 15
    assert p.firewall.management_ports == (22,)
    assert p.firewall.rollback_seconds == 60
    assert p.firewall.default_inbound == "deny"
    assert p.backup.enabled is False
    assert p.antivirus.enabled is True
    assert p.banner is None
    assert p.exceptions == ()
    assert p.vault_file is None


def test_default_preset_is_resolved() -> None:
    pw = load("minimal-inline").passwords
    assert (pw.preset, pw.min_length, pw.min_classes, pw.required_classes) == (
        "cnil-2022-case2", 8, 3, ())
    assert (pw.lockout_threshold, pw.lockout_unlock_minutes) == (5, 15)


def test_explicit_fields_override_the_preset() -> None:
    pw = load("preset-case1-tightened").passwords
    assert pw.preset == "cnil-2022-case1-complex"
    assert pw.min_length == 16
    assert pw.required_classes == ("upper", "lower", "digit", "special")
    assert pw.min_classes == 4
    assert (pw.lockout_threshold, pw.lockout_unlock_minutes) == (10, 5)
    assert pw.hash_method == "sha512"
    assert pw.admin_max_age_days == 180


def test_preset_without_lockout_and_no_preset() -> None:
    pw = load("preset-null-strong").passwords
    assert pw.preset is None
    assert (pw.min_length, pw.min_classes) == (14, 3)
    assert pw.required_classes == ("upper", "lower", "digit")
    assert (pw.lockout_threshold, pw.lockout_unlock_minutes) == (0, 0)


def test_example_profile() -> None:
    p = load_profile(EXAMPLE, today=TODAY)
    assert p.site.finess == "690009999"
    assert p.hosts == ("lab-01", "lab-02", "lab-03")
    assert p.groups_of("lab-01") == ("serveurs",)
    assert p.groups_of("lab-02") == ("postes_soins",)
    assert p.groups_of("lab-03") == ("bureaux",)
    assert p.groups_of("unknown") == ()
    assert p.settings_for("lab-02").session_lock.idle_minutes == 5
    assert p.settings_for("lab-03").session_lock.idle_minutes == 15
    assert p.settings_for("lab-01").session_lock.idle_minutes == 15
    # services of a group are added to the site's
    assert [s.name for s in p.settings_for("lab-01").firewall.allowed_services] == ["dui-https"]
    assert p.settings_for("lab-02").firewall.allowed_services == ()
    # backups: enabled by the serveurs group only
    assert [h for h in p.hosts if p.settings_for(h).backup_enabled] == ["lab-01"]
    assert p.backup.password == SecretRef("env", "ESMS_BACKUP_PASSWORD")
    # exceptions
    assert set(p.exceptions_for("lab-01")) == {"ESMS-LOCK-01"}
    assert p.exceptions_for("lab-02") == {}
    assert all(e.expires >= datetime.date(2027, 1, 1) for e in p.exceptions)


def test_example_is_the_lab_demo() -> None:
    p = load_profile(EXAMPLE, today=TODAY)
    acc = p.accounts
    assert acc.management_account == "esms-admin"
    assert set(acc.forbidden_generic_logins) >= {"accueil", "infirmerie", "soins"}
    assert acc.admins and all(u.admin for u in acc.users if u.login in acc.admins)
    assert any(u.state == "departed" for u in acc.users)
    for u in acc.users:
        if u.initial_password is not None:
            assert u.initial_password == SecretRef("env", f"ESMS_PW_{u.login.upper()}")
    assert "127.0.0.1/32" in p.firewall.management_sources
    documentation = [ipaddress.ip_network(n) for n in
                     ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")]
    for src in p.firewall.management_sources:
        net = ipaddress.ip_network(src)
        assert net.is_loopback or any(net.subnet_of(d) for d in documentation  # type: ignore[arg-type]
                                      if d.version == net.version), src
    up = p.updates
    assert (up.window_days, up.window_start, up.window_duration_minutes) == (("sun",), "03:00", 120)
    org = p.organisation
    for ev in (org.degraded_procedures, org.awareness, org.charter):
        assert ev is not None and ev.date is not None
        assert TODAY - datetime.timedelta(days=365) <= ev.date <= TODAY


def test_users_and_admins() -> None:
    p = load_profile(EXAMPLE, today=TODAY)
    by_login = {u.login: u for u in p.accounts.users}
    assert by_login["jmartin"].admin is True
    assert by_login["mdupont"].admin is False
    assert by_login["pmoreau"].state == "departed"
    assert by_login["pmoreau"].initial_password is None
    assert by_login["mdupont"].groups == ("soignants",)
    assert p.accounts.admins == ("jmartin",)


def test_path_inventory_groups_and_overrides() -> None:
    p = load("path-inventory-yaml")
    assert p.inventory.path == (ROOT / "tests" / "data" / "profiles" / "inventories" / "site.yml")
    assert p.inventory.hosts == {}
    assert set(p.hosts) == {"srv-dui", "pc-inf-n1", "pc-inf-n2"}
    assert p.groups_of("pc-inf-n1") == ("infirmerie_nord", "postes_soins")
    assert p.settings_for("pc-inf-n1").session_lock.idle_minutes == 5
    assert p.settings_for("srv-dui").session_lock.idle_minutes == 15
    assert set(p.exceptions_for("srv-dui")) == {"ESMS-LOCK-04"}
    assert p.exceptions_for("pc-inf-n1") == {}


def test_path_inventory_ini() -> None:
    p = load("path-inventory-ini")
    assert p.groups_of("pc-inf-n1") == ("infirmerie_nord", "postes_soins")
    assert p.groups_of("srv-dui") == ("serveurs",)
    assert p.settings_for("pc-inf-n1").session_lock.idle_minutes == 5


def test_two_groups_merge() -> None:
    p = load("groups-no-conflict")
    s = p.settings_for("lab-01")
    assert (s.session_lock.idle_minutes, s.session_lock.lock_delay_seconds) == (5, 10)
    assert s.updates.reboot == "never"
    assert [x.name for x in s.firewall.allowed_services] == ["impression"]
    # the site-wide settings are unchanged
    assert p.updates.reboot == "in_window"
    assert p.session_lock.idle_minutes == 15


def test_group_password_override_resolves_preset() -> None:
    p = load("lockout-tightened")
    s = p.settings_for("lab-01")
    assert s.passwords == p.passwords
    assert (s.passwords.lockout_threshold, s.passwords.lockout_unlock_minutes) == (3, 30)


def test_secrets_and_vault_file() -> None:
    p = load("vault-refs")
    assert p.vault_file == DATA / "secrets" / "vault.yml"
    logins = {u.login: u.initial_password for u in p.accounts.users}
    assert logins == {"mdupont": SecretRef("vault", "pw_mdupont"),
                      "jmartin": SecretRef("env", "ESMS_PW_JMARTIN")}
    assert p.backup.password == SecretRef("vault", "backup_password")


def test_windows_platform() -> None:
    p = load("windows-host")
    assert p.inventory.hosts["pc-accueil"].platform == "windows"
    assert p.inventory.hosts["srv-01"].platform == "debian"
    assert p.inventory.hosts["pc-accueil"].vars == {"ansible_connection": "winrm"}
    assert p.firewall.management_ports == (22, 5986)


def test_anchors_and_merge_keys() -> None:
    p = load("anchors-merge")
    assert p.groups_of("lab-03") == ("postes_soins",)
    assert p.settings_for("lab-02").session_lock.idle_minutes == 5


def test_full_sections() -> None:
    p = load("full-sections")
    assert p.site.name == "« Résidence Les Églantiers »"
    assert p.site.msp_name == "Infogérance"
    assert p.updates.window_days == ("sat", "sun")
    assert p.backup.repository == "s3:https://s3.example/bucket"
    assert (p.backup.retention_daily, p.backup.retention_monthly) == (7, 12)
    assert p.backup.groups == ("serveurs",) and p.backup.hosts == ("lab-02",)
    assert p.banner is not None and p.banner.charter_version == "2026-01"
    assert p.organisation.awareness is not None
    assert p.organisation.awareness.date == datetime.date(2026, 9, 22)
    assert p.organisation.awareness.document is None
    assert [h for h in p.hosts if p.settings_for(h).backup_enabled] == ["lab-01", "lab-02"]
