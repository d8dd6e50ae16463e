"""Parsers of Windows outputs, on samples in the real formats (tests/data/windows/README.md
says how they were made: from the documented formats, not captured on a host here)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from esms_baseline.windows import parse

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "windows"


def test_secedit_export_is_utf16_le_with_bom() -> None:
    raw = (DATA / "secedit-default-en.inf").read_bytes()
    assert raw[:2] == b"\xff\xfe"
    inf = parse.parse_secedit_inf(raw)
    assert inf["Unicode"]["Unicode"] == "yes"
    assert inf["Version"]["signature"] == '"$CHICAGO$"'
    sa = parse.system_access(raw)
    assert sa["MinimumPasswordLength"] == 0 and sa["MaximumPasswordAge"] == 42
    assert sa["LockoutBadCount"] == 10 and sa["NewGuestName"] == "Guest"


def test_secedit_french_names_and_never_expires() -> None:
    sa = parse.system_access((DATA / "secedit-hardened-fr.inf").read_bytes())
    assert sa["MaximumPasswordAge"] == -1
    assert sa["NewAdministratorName"] == "Administrateur" and sa["NewGuestName"] == "Invité"
    assert sa["MinimumPasswordLength"] == 10 and sa["PasswordComplexity"] == 1


def test_secedit_garbage_is_refused() -> None:
    with pytest.raises(parse.ParseError):
        parse.parse_secedit_inf(b"not an inf")
    with pytest.raises(parse.ParseError, match="System Access"):
        parse.system_access("[Version]\nRevision=1\n")


def test_net_accounts_english() -> None:
    n = parse.parse_net_accounts((DATA / "net-accounts-default-en.txt").read_text(encoding="utf-8"))
    assert n.language == "en"
    assert (n.min_length, n.max_age_days, n.min_age_days, n.history) == (0, 42, 0, 0)
    assert (n.lockout_threshold, n.lockout_duration_minutes, n.lockout_window_minutes) == (10, 10, 10)
    assert n.force_logoff_minutes is None and n.computer_role == "WORKSTATION"


def test_net_accounts_never_and_unlimited() -> None:
    n = parse.parse_net_accounts((DATA / "net-accounts-nolockout-server-en.txt").read_bytes())
    assert n.lockout_threshold == 0 and n.max_age_days is None and n.computer_role == "SERVER"


@pytest.mark.parametrize("name", ["net-accounts-hardened-fr.txt", "net-accounts-hardened-fr.cp850",
                                  "net-accounts-hardened-de.txt"])
def test_net_accounts_french_cp850_and_unknown_language(name: str) -> None:
    n = parse.parse_net_accounts((DATA / name).read_bytes())
    assert n.language == ("unknown" if name.endswith("-de.txt") else "fr")
    assert (n.min_length, n.min_age_days, n.max_age_days, n.history) == (10, 1, None, 5)
    assert (n.lockout_threshold, n.lockout_duration_minutes, n.lockout_window_minutes) == (5, 15, 15)


def test_net_accounts_truncated_is_refused() -> None:
    with pytest.raises(parse.ParseError):
        parse.parse_net_accounts("Minimum password length:   8\n")


def test_firewall_profiles_numeric_enums_of_powershell_51() -> None:
    p = parse.parse_firewall_profiles((DATA / "firewall-profiles-default.json").read_text())
    assert p["Domain"].enabled == "True" and p["Domain"].inbound == "NotConfigured"
    assert p["Public"].enabled == "False" and p["Public"].inbound == "Allow"
    h = parse.parse_firewall_profiles((DATA / "firewall-profiles-hardened.json").read_bytes())
    assert {x.inbound for x in h.values()} == {"Block"} and {x.enabled for x in h.values()} == {"True"}


def test_firewall_profiles_names_and_single_object() -> None:
    p = parse.parse_firewall_profiles((DATA / "firewall-profiles-names.json").read_text())
    assert p["Public"].inbound == "Allow" and p["Domain"].inbound == "Block"
    one = parse.parse_firewall_profiles('{"Name": "Public", "Enabled": 1, "DefaultInboundAction": 4}')
    assert list(one) == ["Public"] and one["Public"].inbound == "Block"


def test_mp_computer_status_dates_and_flags() -> None:
    s = parse.parse_mp_status((DATA / "mp-status-fresh.json").read_text())
    assert s.am_service_enabled and s.antivirus_enabled and s.realtime_enabled
    assert s.signature_last_updated == dt.datetime(2024, 11, 18, 6, 40, tzinfo=dt.UTC)
    assert s.running_mode == "Normal" and s.tamper_protected is True
    stale = parse.parse_mp_status((DATA / "mp-status-stale.json").read_bytes())
    assert stale.signature_age_days == 9
    assert stale.signature_age_hours(dt.datetime(2024, 11, 18, 6, 40, tzinfo=dt.UTC)) == 9 * 24
    passive = parse.parse_mp_status((DATA / "mp-status-passive.json").read_text())
    assert passive.running_mode == "Passive Mode" and not passive.realtime_enabled
    with pytest.raises(parse.ParseError):
        parse.parse_mp_status('{"Name": "x"}')


@pytest.mark.parametrize(("value", "expected"), [
    ("/Date(1731912000000)/", dt.datetime(2024, 11, 18, 6, 40, tzinfo=dt.UTC)),
    ("\\/Date(1731912000000)\\/", dt.datetime(2024, 11, 18, 6, 40, tzinfo=dt.UTC)),
    ("2024-11-18T06:40:00.1234567Z", dt.datetime(2024, 11, 18, 6, 40, 0, 123456, tzinfo=dt.UTC)),
    ("2024-11-18T07:40:00+01:00", dt.datetime(2024, 11, 18, 6, 40, tzinfo=dt.UTC)),
    ({"value": "/Date(1731912000000)/", "DisplayHint": 2}, dt.datetime(2024, 11, 18, 6, 40, tzinfo=dt.UTC)),
    (None, None),
])
def test_powershell_dates(value: object, expected: dt.datetime | None) -> None:
    assert parse.parse_ps_datetime(value) == expected


def test_rule_filters_as_windows_prints_them() -> None:
    assert parse.parse_addresses(["203.0.113.0/255.255.255.0", "10.1.2.3"]) == ("10.1.2.3/32",
                                                                                "203.0.113.0/24")
    assert parse.parse_addresses("Any") is None and parse.parse_addresses(["LocalSubnet"]) == ("LocalSubnet",)
    assert parse.parse_ports(["5985", "5986"]) == frozenset({5985, 5986})
    assert parse.parse_ports("Any") is None and parse.parse_ports(["RPC"]) == frozenset()
    assert parse.parse_ports(["49152-49154"]) == frozenset({49152, 49153, 49154})
    assert parse.parse_protocol("TCP") == "tcp" and parse.parse_protocol(17) == "udp"


# ---------------------------------------------------------------- console code pages, ADSI


@pytest.mark.parametrize(("text", "codepage"), [
    ("Accès refusé. Le paramètre est incorrect : « Durée du verrouillage »", 850),  # French OEM
    ("Access is denied. Lockout duration (minutes): 30 ±", 437),  # English OEM
])
def test_console_output_in_the_oem_code_page(text: str, codepage: int) -> None:
    raw = text.encode(f"cp{codepage}")
    assert parse.decode_console(raw, codepage) == text
    if codepage == 850:
        # what the old Windows-1252 fallback made of it: accents garbled
        assert parse.decode_text(raw) != text
        assert parse.decode_console(raw) == text  # cp850 when the code page is unknown


def test_console_output_utf16_and_utf8_are_recognised() -> None:
    text = "Stratégie de sécurité"
    assert parse.decode_console(b"\xff\xfe" + text.encode("utf-16-le"), 850) == text
    assert parse.decode_console(text.encode("utf-8"), 437) == text
    assert parse.decode_console(b"\x82\xff", 65001) == "é\u00a0"  # invalid UTF-8: cp850


def test_secedit_french_export_with_lockout_until_admin_unlocks() -> None:
    """UTF-16 LE with BOM, French names, LockoutDuration -1 (0 in the policy UI)."""
    text = (DATA / "secedit-hardened-fr.inf").read_bytes().decode("utf-16")
    raw = b"\xff\xfe" + text.replace("LockoutDuration = 15", "LockoutDuration = -1").encode("utf-16-le")
    sa = parse.system_access(raw)
    assert sa["NewGuestName"] == "Invité"
    assert parse.lockout_duration_minutes(sa["LockoutDuration"] if isinstance(sa["LockoutDuration"], int) else None) == 0
    assert parse.lockout_duration_minutes(30) == 30 and parse.lockout_duration_minutes(None) is None


def test_adsi_policy_numbers() -> None:
    p = parse.parse_adsi_policy({"MinPasswordLength": 12, "PasswordHistoryLength": 5,
                                 "MaxPasswordAge": 4294967295, "MinPasswordAge": 86400,
                                 "MaxBadPasswordsAllowed": 5, "AutoUnlockInterval": 1800,
                                 "LockoutObservationInterval": 1800})
    assert (p.min_length, p.history, p.max_age_days, p.min_age_days) == (12, 5, None, 1)
    assert (p.lockout_threshold, p.lockout_duration_minutes, p.lockout_window_minutes) == (5, 30, 30)
    q = parse.parse_adsi_policy({"MinPasswordLength": 0, "MaxPasswordAge": 42 * 86400,
                                 "AutoUnlockInterval": -1})
    assert q.max_age_days == 42 and q.lockout_duration_minutes == 0 and q.history is None
    with pytest.raises(parse.ParseError):
        parse.parse_adsi_policy({"MinPasswordLength": "beaucoup"})
    with pytest.raises(parse.ParseError):
        parse.parse_adsi_policy({"Something": 1})
