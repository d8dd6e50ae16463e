"""End-of-support table and ESMS-UPD-04 (Debian and Windows), the warning verdict, and the
profile's providers section (validate's cross-checks).

Windows facts: samples of the collector's ``os`` and ``os_edition`` sections in the
documented formats (Win32_OperatingSystem ProductType/BuildNumber; the CurrentVersion
registry values EditionID, DisplayVersion, CurrentBuildNumber), in
tests/data/windows/os-*.json. Nothing here ran on a Windows host.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from esms_baseline.catalogue.eol import (
    debian_major,
    debian_support,
    edition_family,
    load_eol,
    verdict_of,
    windows_support,
)
from esms_baseline.conformance.rules import evaluate
from esms_baseline.errors import ProfileError
from esms_baseline.profile import load_profile
from esms_baseline.results import SITE_HOST, CheckResult, ControlResult, Verdict

ROOT = Path(__file__).resolve().parents[2]
WINDOWS = ROOT / "tests" / "data" / "windows"
TODAY = dt.date(2026, 11, 30)


# ------------------------------------------------------------------------------ the table


def test_table_is_checked_within_a_year() -> None:
    """Keep catalogue/eol.yml up to date: re-check every source at least once a year."""
    table = load_eol()
    age = (dt.date.today() - table.newest_check).days
    assert age <= 365, (f"catalogue/eol.yml was last checked {table.newest_check} ({age} days "
                        "ago): re-check each date against its source and update `checked`")


def test_every_date_has_a_public_source() -> None:
    table = load_eol()
    for r in (*table.debian, *table.windows):
        assert r.source.startswith("https://"), r
    for d in table.debian:
        assert d.released < d.regular_end <= d.lts_end, d
    for w in table.windows:
        # Microsoft ends servicing on a Patch Tuesday (second Tuesday of the month)
        for day in (w.end, *w.esu.values()):
            assert day.weekday() == 1 and 8 <= day.day <= 14, (w, day)
        assert all(d > w.end for d in w.esu.values()), w
    keys = [(w.build, w.editions) for w in table.windows]
    assert len(keys) == len(set(keys)), "one entry per build and edition family"


@pytest.mark.parametrize(("version_id", "debian_version", "major"), [
    ("12", "12.7", "12"), (None, "11.11", "11"), ("", "13.0", "13"),
    (None, "trixie/sid", None), ("12\nx", None, None), (None, None, None),
])
def test_debian_major(version_id: str | None, debian_version: str | None,
                      major: str | None) -> None:
    assert debian_major(version_id, debian_version) == major


@pytest.mark.parametrize(("major", "day", "verdict"), [
    ("11", TODAY, "fail"),                       # LTS ended 2026-08-31
    ("11", dt.date(2026, 8, 31), "warning"),     # last day: still supported
    ("11", dt.date(2026, 9, 1), "fail"),
    ("12", TODAY, "pass"),                       # LTS until 2028-06-30
    ("12", dt.date(2028, 1, 2), "warning"),      # 180 days before the end
    ("12", dt.date(2028, 1, 1), "pass"),
    ("13", TODAY, "pass"),
    ("10", TODAY, "fail"),
    ("9", TODAY, "unknown"),
])
def test_debian_verdicts(major: str, day: dt.date, verdict: str) -> None:
    assert verdict_of(debian_support(major), day, 180)[0] == verdict


def test_debian_without_lts_counts_the_regular_end() -> None:
    assert verdict_of(debian_support("12", count_lts=False), TODAY, 180)[0] == "fail"


def _windows_facts(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((WINDOWS / name).read_text(encoding="utf-8"))
    return doc


def _vars(**extra: Any) -> dict[str, Any]:
    return {"esms_updates_eol_warn_days": 180, **extra}


@pytest.mark.parametrize(("sample", "extra", "verdict", "release"), [
    ("os-win10-22h2-pro.json", {}, "fail", "Windows 10 22H2"),
    ("os-win10-22h2-pro.json", {"esms_updates_windows_esu_program": "consumer",
                                "esms_updates_windows_esu_until": "2027-10-12"},
     "pass", "Windows 10 22H2"),
    # an enrolment paid only until next month: a warning, with the ESU end
    ("os-win10-22h2-pro.json", {"esms_updates_windows_esu_program": "commercial",
                                "esms_updates_windows_esu_until": "2027-01-12"},
     "warning", "Windows 10 22H2"),
    # consumer ESU does not exist for Enterprise: the enrolment is ignored
    ("os-win10-22h2-enterprise.json", {"esms_updates_windows_esu_program": "consumer",
                                       "esms_updates_windows_esu_until": "2027-10-12"},
     "fail", "Windows 10 22H2"),
    ("os-win11-24h2-pro.json", {}, "fail", "Windows 11 24H2"),
    ("os-win11-24h2-enterprise.json", {}, "pass", "Windows 11 24H2"),
    ("os-win11-25h2-pro.json", {}, "pass", "Windows 11 25H2"),
    ("os-win10-ltsc2021.json", {}, "warning", "Windows 10 Enterprise LTSC 2021 21H2"),
    ("os-server2016.json", {}, "warning", "Windows Server 2016"),
    ("os-server2022.json", {}, "pass", "Windows Server 2022"),
])
def test_windows_verdicts_on_recorded_sections(sample: str, extra: dict[str, Any],
                                               verdict: str, release: str) -> None:
    o = evaluate("windows", "ESMS-UPD-04", _windows_facts(sample), _vars(**extra))
    got = "fail" if o.passed is False else ("warning" if o.warning else "pass")
    assert got == verdict, o
    assert o.found["release"] == release, o


def test_windows_unknown_build_fails() -> None:
    facts = _windows_facts("os-win11-24h2-pro.json")
    facts["os_edition"]["current_build"] = "99999"
    o = evaluate("windows", "ESMS-UPD-04", facts, _vars())
    assert o.passed is False and "not in the end-of-support table" in o.message


@pytest.mark.parametrize(("edition", "product_type", "family"), [
    ("Professional", 1, "home_pro"), ("Core", 1, "home_pro"),
    ("CoreSingleLanguage", 1, "home_pro"), ("ProfessionalWorkstation", 1, "home_pro"),
    ("Enterprise", 1, "enterprise_education"), ("Education", 1, "enterprise_education"),
    ("EnterpriseS", 1, "ltsc"), ("IoTEnterpriseS", 1, "iot_ltsc"),
    ("IoTEnterpriseSK", 1, "iot_ltsc"), ("IoTEnterprise", 1, "enterprise_education"),
    # Enterprise multi-session reports ProductType 3 but follows the Enterprise lifecycle
    ("ServerRdsh", 3, "enterprise_education"),
    ("ServerStandard", 3, "server"), ("ServerDatacenter", 2, "server"),
    ("", 1, None), ("Whatever", 1, None),
])
def test_edition_family(edition: str, product_type: int, family: str | None) -> None:
    assert edition_family(edition, product_type) == family


@pytest.mark.parametrize(("caption", "product_type", "family"), [
    ("Microsoft Windows 10 IoT Enterprise LTSC", 1, "iot_ltsc"),
    ("Microsoft Windows 10 Entreprise LTSC", 1, "ltsc"),
    ("Microsoft Windows 11 Enterprise multi-session", 3, "enterprise_education"),
    ("Microsoft Windows Server 2022 Standard", 3, "server"),
])
def test_edition_family_from_caption(caption: str, product_type: int, family: str) -> None:
    assert edition_family(None, product_type, caption) == family


@pytest.mark.parametrize(("build", "family", "end", "verdict"), [
    # IoT Enterprise LTSC 2021 has 10 years, Enterprise LTSC 2021 five
    (19044, "iot_ltsc", dt.date(2032, 1, 13), "pass"),
    (19044, "ltsc", dt.date(2027, 1, 12), "warning"),
    (26100, "iot_ltsc", dt.date(2034, 10, 10), "pass"),
    (26100, "ltsc", dt.date(2029, 10, 9), "pass"),
    # Windows 11 21H2 ended: a failure with its date, not an unknown build
    (22000, "enterprise_education", dt.date(2024, 10, 8), "fail"),
    # Windows 11 26H2 (build 26300, autumn 2026): not an unknown build
    (26300, "home_pro", dt.date(2028, 10, 10), "pass"),
    # Server 2016 and LTSB 2016 share build 14393: the family decides
    (14393, "server", dt.date(2027, 1, 12), "warning"),
    (14393, "ltsc", dt.date(2026, 10, 13), "fail"),
])
def test_windows_build_and_family(build: int, family: Any, end: dt.date, verdict: str) -> None:
    s = windows_support(build, family)
    assert s.end == end
    assert verdict_of(s, TODAY, 180)[0] == verdict


def test_esu_never_beyond_the_program() -> None:
    s = windows_support(19045, "home_pro", esu_program="consumer",
                        esu_until=dt.date(2030, 1, 1))
    assert s.end == dt.date(2027, 10, 12) and s.phase == "esu"


# ------------------------------------------------------------------------------ warning verdict


def test_warning_is_not_a_failure() -> None:
    now = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    res = CheckResult(site="x", started=now, finished=now, baseline_version="t",
                      results=(ControlResult("h", "ESMS-UPD-04", Verdict.WARNING),
                               ControlResult(SITE_HOST, "ESMS-ORG-01", Verdict.PASS)))
    assert res.exit_code == 0 and res.counts()["warning"] == 1


# ------------------------------------------------------------------------------ providers


def _doc() -> dict[str, Any]:
    return {
        "schema_version": 1,
        "site": {"name": "T", "finess": "690009999"},
        "inventory": {"hosts": {"srv": {"groups": ["serveurs"]}}, "groups": {"serveurs": {}}},
        "accounts": {"management_account": "esms-admin", "users": [
            {"login": "presta1", "full_name": "P One", "provider": "Editeur"}]},
        "firewall": {"management": {"sources": ["203.0.113.0/24"]}},
        "providers": [{"name": "Editeur", "contract": "C-1", "maintains": "DUI",
                       "access": "ssh", "sources": ["203.0.113.16/28"], "groups": ["serveurs"],
                       "accounts": ["presta1"], "access_until": "2027-06-30"}],
    }


def _load(tmp_path: Path, doc: dict[str, Any]) -> list[str]:
    path = tmp_path / "site.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    try:
        load_profile(path, today=TODAY)
    except ProfileError as exc:
        return [str(e) for e in exc.errors]
    return []


def test_valid_providers(tmp_path: Path) -> None:
    assert _load(tmp_path, _doc()) == []


def test_a_departed_account_of_an_ended_access_may_stay_listed(tmp_path: Path) -> None:
    doc = _doc()
    doc["accounts"]["users"][0]["state"] = "departed"
    doc["providers"][0]["access_until"] = (TODAY - dt.timedelta(days=1)).isoformat()
    assert _load(tmp_path, doc) == []


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["providers"][0]["sources"].__setitem__(0, "198.51.100.0/24"),
     "providers[0].sources[0]: source 198.51.100.0/24 is not inside firewall.management"),
    (lambda d: d["accounts"]["users"][0].__setitem__("provider", "Autre"),
     "accounts.users[0].provider: unknown provider 'Autre'"),
    (lambda d: d["providers"][0]["accounts"].append("ghost"),
     "providers[0].accounts[1]: provider account 'ghost' is not declared"),
    (lambda d: d["providers"][0]["accounts"].__setitem__(0, "esms-admin"),
     "is the management account"),
    (lambda d: d["providers"][0].__setitem__("groups", ["servers"]),
     "providers[0].groups[0]: unknown group 'servers'"),
    (lambda d: d["providers"][0].update(access="vendor_tool"),
     "name the remote-control software"),
    (lambda d: d["providers"].append(dict(d["providers"][0], accounts=[])),
     "provider 'Editeur' is declared twice"),
    (lambda d: d["accounts"].__setitem__("admins", ["presta1"]),
     "must not hold administrator rights"),
    (lambda d: d["providers"][0].update(access_until="2027-13-01"), "access_until"),
    # review R14: rights through groups, an access from anywhere, an access that never ends
    (lambda d: d["accounts"]["users"][0].__setitem__("groups", ["sudo"]),
     "accounts.users[0].groups: provider account 'presta1' is in sudo"),
    (lambda d: (d["firewall"]["management"].update(sources=["0.0.0.0/0"],
                                                   justification="the MSP roams, decided by the director"),
                d["providers"][0].update(sources=["0.0.0.0/0"])),
     "providers[0].sources[0]: source 0.0.0.0/0 is every address"),
    (lambda d: d.setdefault("updates", {}).update(end_of_support={"windows_esu": {
        "program": "consumer", "until": "2028-10-10"}}),
     ("updates.end_of_support.windows_esu.until: ESU consumer until 2028-10-10: the program "
      "covers no later than 2027-10-12")),
    (lambda d: d["providers"][0].update(access_until="9999-12-31"),
     "providers[0].access_until: access until 9999-12-31 is more than 10 years away"),
    # review of #14: ESMS-ACC-03 would lock it and ESMS-PRV-01 unlock it on every apply
    (lambda d: d["accounts"]["users"][0].__setitem__("state", "departed"),
     "providers[0].accounts[0]: account 'presta1' has left (state: departed) but provider"),
    (lambda d: d["providers"][0].update(name="bad\nname"), "name"),
    (lambda d: d["providers"][0].update(contract="{{ lookup('pipe', 'id') }}"), "contract"),
    (lambda d: d["providers"][0].update(maintains="{% raw %}x"), "maintains"),
    (lambda d: d["providers"][0]["tools"] if False else d["providers"][0].update(
        tools=["teamviewer; rm -rf /"]), "tools"),
])
def test_providers_cross_checks(tmp_path: Path, change: Any, message: str) -> None:
    doc = _doc()
    change(doc)
    errors = _load(tmp_path, doc)
    assert any(message in e for e in errors), errors
    assert all(":" in e.split(" ")[0] for e in errors), errors  # file:line:col first


def test_controls_eol_shows_the_table_and_its_age(capsys: pytest.CaptureFixture[str]) -> None:
    from esms_baseline.cli import main
    from esms_baseline.cli.eol_view import eol_document

    assert main(["controls", "--eol", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "bullseye" in out and "2026-08-31" in out and "checked" in out
    assert "Windows Server 2016" in out and "ESU consumer 2027-10-12" in out
    table = load_eol()
    later = table.newest_check + dt.timedelta(days=400)
    assert eol_document(table, later)["stale"] is True
    assert eol_document(table, table.newest_check)["age_days"] == 0


def test_remote_tools_agree_between_collector_schema_and_role() -> None:
    from esms_baseline.conformance.collectors.debian_sector import REMOTE_TOOLS
    from esms_baseline.profile.schema import load_schema

    schema = load_schema()
    enum = schema["$defs"]["provider"]["properties"]["tools"]["items"]["enum"]
    assert sorted(enum) == sorted(REMOTE_TOOLS)
    task = yaml.safe_load((ROOT / "roles/esms_providers/tasks/debian/ESMS-PRV-02.yml")
                          .read_text(encoding="utf-8"))
    pairs = task[1]["vars"]["esms_providers_tool_packages"]
    for tool, package in pairs:
        assert package in REMOTE_TOOLS[tool]["packages"], (tool, package)


def test_prv_01_survives_the_last_representable_day() -> None:
    """A library user's hand-made variables (validate refuses it): no OverflowError."""
    o = evaluate("debian", "ESMS-PRV-01",
                 {"accounts": {"users": {"a": {"shadow": {"expire_days": None}}},
                               "today_days": 20787}},
                 {"esms_providers_accounts": [{"login": "a", "provider": "P",
                                               "access_until": "9999-12-31"}]})
    assert o.passed is False


def test_units_generated_from_init_scripts_are_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    """An agent installed by a shell script with an /etc/init.d script (ScreenConnect's Linux
    client) has its unit in /run/systemd/generator.late only (systemd-sysv-generator)."""
    from esms_baseline.conformance.collectors import debian_sector as ds

    dirs = {"/run/systemd/generator.late": ["connectwisecontrol-0123abcd.service"],
            "/lib/systemd/system": ["ssh.service"]}

    def listdir(d: str) -> list[str]:
        if d not in dirs:
            raise FileNotFoundError(d)
        return dirs[d]

    monkeypatch.setattr(ds.os, "listdir", listdir)
    monkeypatch.setattr(ds, "_sector_installed_packages", lambda: ["nomachine"])
    monkeypatch.setattr(ds, "_sector_listening", list)
    tools = ds.sector_remote_control()["tools"]
    assert tools["screenconnect"]["units"] == ["connectwisecontrol-0123abcd.service"]
    assert tools["nomachine"]["packages"] == ["nomachine"]


def test_provider_accounts_are_closed_on_hosts_the_provider_does_not_reach(
        tmp_path: Path) -> None:
    """esms_accounts creates accounts.users on every host: a provider scoped to a group has
    its account expired and locked on the other hosts (reaches: false), and PRV-01 checks it."""
    from esms_baseline.profile.providers import sector_vars

    doc = _doc()
    doc["inventory"] = {"hosts": {"srv": {"groups": ["serveurs"]}, "poste": {"groups": []}},
                        "groups": {"serveurs": {}}}
    path = tmp_path / "site.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    profile = load_profile(path, today=TODAY)
    srv = sector_vars(profile, "srv")["esms_providers_accounts"]
    poste = sector_vars(profile, "poste")["esms_providers_accounts"]
    assert [(a["login"], a["reaches"]) for a in srv] == [("presta1", True)]
    assert [(a["login"], a["reaches"]) for a in poste] == [("presta1", False)]
    today_days = (TODAY - dt.date(1970, 1, 1)).days
    for shadow, passed in (({"expire_days": None, "locked": False}, False),
                           ({"expire_days": 1, "locked": True}, True)):
        o = evaluate("debian", "ESMS-PRV-01",
                     {"accounts": {"users": {"presta1": {"shadow": shadow}},
                                   "today_days": today_days}},
                     {"esms_providers_accounts": poste})
        assert o.passed is passed, o
    o = evaluate("debian", "ESMS-PRV-01", {"accounts": {"users": {}, "today_days": today_days}},
                 {"esms_providers_accounts": poste})
    assert o.passed is True  # absent there: nothing to close
