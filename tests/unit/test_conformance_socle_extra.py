"""Antivirus, backups and login banner on Debian (ESMS-AV-01/02, ESMS-BAK-01/02, ESMS-BAN-01):
rules on recorded facts, the collector's parsers, the plan variables and the run's secret.

``tests/data/facts/debian-compliant.json`` was recorded on a lab host after
``tests/data/playbooks/debian-socle-extra.yml`` ran and a backup went over SFTP to another
lab host (through esms_baseline.lab.relay); ``debian-fresh.json`` on a fresh lab host. Lab
hosts cannot download ClamAV signatures: the compliant fixture's ``antivirus.databases``
is the shape the collector reports on a host with fresh signatures (daily built one day
before the collection), the only part of the fixture that was not recorded. The failing side
of ESMS-AV-02 (no database at all) is recorded, and proved on a real host by
tests/integration/test_socle_extra.py.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from esms_baseline.conformance.collectors import debian as collector
from esms_baseline.conformance.rules import evaluate
from esms_baseline.conformance.rules.backup import parse_restic_time
from esms_baseline.conformance.rules.organisation import evidence
from esms_baseline.plan import BACKUP_PASSWORD_VAR, build_check_plan, build_plan
from esms_baseline.profile import load_profile

ROOT = Path(__file__).resolve().parents[2]
from tests.unit.facts import Facts, load

DATA = ROOT / "tests" / "data" / "facts"
EXAMPLE = ROOT / "examples" / "site.yml"
TODAY = dt.date(2026, 11, 23)




def run(control: str, facts: Facts, variables: dict[str, Any], **override: Any) -> Any:
    return evaluate("debian", control, facts, {**variables, **override})


# ---------------------------------------------------------------------------- not applicable


@pytest.mark.parametrize("control", ["ESMS-AV-01", "ESMS-AV-02"])
def test_antivirus_not_asked_is_not_applicable(control: str, variables: dict[str, Any]) -> None:
    for facts in (load("debian-fresh.json"), load("debian-compliant.json")):
        o = run(control, facts, variables, esms_antivirus_enabled=False)
        assert o.passed is None and "does not ask" in o.message


@pytest.mark.parametrize("control", ["ESMS-BAK-01", "ESMS-BAK-02"])
def test_host_not_backed_up_is_not_applicable(control: str, variables: dict[str, Any]) -> None:
    o = run(control, load("debian-fresh.json"), variables, esms_backup_enabled=False)
    assert o.passed is None and "does not back up" in o.message


def test_no_banner_declared_is_not_applicable(variables: dict[str, Any]) -> None:
    o = run("ESMS-BAN-01", load("debian-fresh.json"), variables, esms_banner_text="")
    assert o.passed is None


# ---------------------------------------------------------------------------- antivirus


def test_fresh_lab_host_fails_av_02_with_no_signature_database(variables: dict[str, Any]) -> None:
    o = run("ESMS-AV-02", load("debian-fresh.json"), variables)
    assert o.passed is False
    assert "no signature database" in o.message


def test_custom_database_alone_never_passes(compliant: Facts, variables: dict[str, Any]) -> None:
    compliant["antivirus"]["databases"] = [
        {"name": "esms-test.ndb", "kind": "custom", "size": 40, "built": None}]
    o = run("ESMS-AV-02", compliant, variables)
    assert o.passed is False and "no signature database" in o.message
    assert o.found["custom databases (not counted: no build time)"] == ["esms-test.ndb"]


def test_main_without_daily_fails(compliant: Facts, variables: dict[str, Any]) -> None:
    compliant["antivirus"]["databases"] = [
        d for d in compliant["antivirus"]["databases"] if not d["name"].startswith("daily")]
    o = run("ESMS-AV-02", compliant, variables)
    assert o.passed is False and "no daily" in o.message


def test_signature_age_limit_follows_the_profile(compliant: Facts, variables: dict[str, Any]) -> None:
    daily = compliant["antivirus"]["databases"][1]
    daily["built"] = compliant["antivirus"]["now"] - int(2.5 * 86400)
    assert run("ESMS-AV-02", compliant, variables).passed is False
    o = run("ESMS-AV-02", compliant, variables, esms_antivirus_max_signature_age_days=3)
    assert o.passed is True and "2.5 days" in o.message


def test_last_scan_failed_is_reported(compliant: Facts, variables: dict[str, Any]) -> None:
    compliant["units"]["esms-clamscan.service"].update(
        ActiveState="failed", Result="exit-code", ExecMainStatus="1")
    o = run("ESMS-AV-01", compliant, variables)
    assert o.passed is False and "a virus was found" in o.message


def test_on_access_needs_clamd_clamonacc_and_fanotify(compliant: Facts,
                                                      variables: dict[str, Any]) -> None:
    facts = copy.deepcopy(compliant)
    o = run("ESMS-AV-01", facts, variables, esms_antivirus_scan="on_access")
    assert o.passed is False
    assert "clamav-daemon.service not enabled and running" in o.message
    for unit in ("clamav-daemon.service", "clamav-clamonacc.service"):
        facts["units"][unit].update(UnitFileState="enabled", ActiveState="active")
    # recorded through SSH on a lab host: nspawn containers refuse fanotify_init
    o = run("ESMS-AV-01", facts, variables, esms_antivirus_scan="on_access")
    assert o.passed is False and "fanotify, unavailable: Operation not permitted" in o.message
    facts["antivirus"]["fanotify"] = "available"
    assert run("ESMS-AV-01", facts, variables, esms_antivirus_scan="on_access").passed is True


# ---------------------------------------------------------------------------- backup


def test_no_snapshot_yet_fails(compliant: Facts, variables: dict[str, Any]) -> None:
    compliant["backup"]["snapshots"]["latest"] = None
    o = run("ESMS-BAK-02", compliant, variables)
    assert o.passed is False and "no snapshot" in o.message


def test_unreachable_repository_fails_with_the_reason(compliant: Facts,
                                                      variables: dict[str, Any]) -> None:
    compliant["backup"]["snapshots"] = {
        "ok": False, "latest": None,
        "error": "Fatal: unable to open repository at sftp:backup@offsite:/srv/restic/tilleuls: "
                 "unable to start the sftp session, error: EOF"}
    o = run("ESMS-BAK-02", compliant, variables)
    assert o.passed is False
    assert o.message.startswith("unreachable repository") and "sftp session" in o.message


def test_max_age_zero_makes_any_snapshot_too_old(compliant: Facts, variables: dict[str, Any]) -> None:
    compliant["backup"]["now"] += 60
    o = run("ESMS-BAK-02", compliant, variables, esms_backup_max_age_hours=0)
    assert o.passed is False and "maximum 0 h" in o.message


def test_missing_canary_fails(compliant: Facts, variables: dict[str, Any]) -> None:
    compliant["backup"]["canary"] = {"path": "/var/lib/esms-baseline/backup-canary", "exists": False,
                                     "sha256": None}
    o = run("ESMS-BAK-02", compliant, variables)
    assert o.passed is False and "canary" in o.message


@pytest.mark.parametrize(("mutation", "word"), [
    (lambda f: f["backup"]["env"].__setitem__("ESMS_BACKUP_KEEP_DAILY", "1"), "retention"),
    (lambda f: f["backup"].__setitem__("paths", ["/var/lib/esms-baseline/backup-canary"]),
     "not backed up: /srv/dui"),
    (lambda f: f["units"]["esms-backup.timer"].__setitem__("calendars", ["*-*-* 12:00:00"]),
     "instead of *-*-* 01:30:00"),
    (lambda f: f["units"]["esms-backup.service"].update(
        ActiveState="failed", Result="exit-code", ExecMainStatus="1"), "last backup failed"),
    (lambda f: f["backup"].__setitem__("configured", False), "not configured"),
])
def test_backup_configuration_breaks(compliant: Facts, variables: dict[str, Any],
                                     mutation: Any, word: str) -> None:
    mutation(compliant)
    o = run("ESMS-BAK-01", compliant, variables)
    assert o.passed is False and word in o.message, o


@pytest.mark.parametrize(("text", "iso"), [
    ("2026-11-23T01:48:51.500868918Z", "2026-11-23T01:48:51.500868+00:00"),
    ("2026-11-23T02:48:51.5+01:00", "2026-11-23T02:48:51.500000+01:00"),
    ("2026-11-23T01:48:51Z", "2026-11-23T01:48:51+00:00"),
])
def test_parse_restic_time(text: str, iso: str) -> None:
    got = parse_restic_time(text)
    assert got is not None and got.isoformat() == iso


def test_parse_restic_time_rejects_garbage() -> None:
    assert parse_restic_time("yesterday") is None


# ---------------------------------------------------------------------------- banner


def test_console_banner_backslashes(compliant: Facts, variables: dict[str, Any]) -> None:
    text = "Accès réservé : C:\\partage"
    compliant["banner"]["files"] = {
        "/etc/issue": "Charte informatique (version 2026-01)\n\nAccès réservé : C:\\\\partage\n",
        "/etc/issue.net": "Charte informatique (version 2026-01)\n\nAccès réservé :\nC:\\partage\n",
    }
    assert run("ESMS-BAN-01", compliant, variables, esms_banner_text=text).passed is True


def test_banner_of_another_charter_version_fails(compliant: Facts, variables: dict[str, Any]) -> None:
    o = run("ESMS-BAN-01", compliant, variables, esms_banner_charter_version="2027-01")
    assert o.passed is False and "version 2027-01 absent" in o.message


def test_sshd_banner_elsewhere_is_read(compliant: Facts, variables: dict[str, Any]) -> None:
    compliant["sshd"]["banner"] = "/etc/ssh/other-banner"
    o = run("ESMS-BAN-01", compliant, variables)
    assert o.passed is False and "/etc/ssh/other-banner: missing" in o.message
    compliant["banner"]["files"]["/etc/ssh/other-banner"] = compliant["banner"]["files"]["/etc/issue.net"]
    assert run("ESMS-BAN-01", compliant, variables).passed is True


# ---------------------------------------------------------------------------- collector parsers


def _cvd(path: Path, name: str, built: int, version: int = 27831) -> None:
    header = (f"ClamAV-VDB:22 Nov 2026 03-35 -0400:{version}:2076473:90:"
              f"0123456789abcdef:sig:raynman:{built}").encode()
    path.joinpath(name).write_bytes(header.ljust(512, b" ") + b"\x1f\x8b rest of the archive")


def test_collector_reads_database_headers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = 1_795_398_000
    _cvd(tmp_path, "daily.cld", now - 3600)
    _cvd(tmp_path, "main.cvd", now - 900 * 86400, version=62)
    (tmp_path / "esms-test.ndb").write_text("Test.Sig:0:*:414243\n")
    (tmp_path / "bytecode.cvd").write_bytes(b"not a database")
    (tmp_path / "freshclam.dat").write_bytes(b"\x00")
    monkeypatch.setattr(collector, "CLAMAV_DB_DIR", str(tmp_path))
    monkeypatch.setattr(collector, "FRESHCLAM_LOG", str(tmp_path / "absent.log"))
    monkeypatch.setattr(collector, "CLAMSCAN_PATHS", str(tmp_path / "absent"))
    av = collector.antivirus()
    by_name = {d["name"]: d for d in av["databases"]}
    assert set(by_name) == {"bytecode.cvd", "daily.cld", "esms-test.ndb", "main.cvd"}
    assert by_name["daily.cld"]["built"] == now - 3600
    assert by_name["daily.cld"]["version"] == 27831
    assert by_name["main.cvd"]["version"] == 62
    assert by_name["bytecode.cvd"]["built"] is None and by_name["bytecode.cvd"]["unreadable_header"]
    assert by_name["esms-test.ndb"]["kind"] == "custom"
    assert av["scan_paths"] is None and av["freshclam_log_tail"] == []


def test_collector_env_file_and_units() -> None:
    env = collector._env_file('# c\nRESTIC_REPOSITORY="sftp:b@o:/x y"\nA=1\nB=\'q\'\n')
    assert env == {"RESTIC_REPOSITORY": "sftp:b@o:/x y", "A": "1", "B": "q"}
    out = collector.units({"rc": 0, "stderr": "", "stdout": (
        "Id=esms-backup.timer\nActiveState=active\nUnitFileState=enabled\n"
        "TimersCalendar={ OnCalendar=*-*-* 01:30:00 ; next_elapse=n/a }\n\n"
        "Id=esms-backup.service\nLoadState=not-found\n")})
    assert out["esms-backup.timer"]["calendars"] == ["*-*-* 01:30:00"]
    assert out["esms-backup.service"]["LoadState"] == "not-found"


def test_collector_never_reports_the_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / "backup.env"
    env.write_text("RESTIC_PASSWORD=clear-secret\nRESTIC_PASSWORD_FILE=/nonexistent\n")
    monkeypatch.setattr(collector, "BACKUP_ENV", str(env))
    monkeypatch.setattr(collector, "BACKUP_PATHS", str(tmp_path / "absent"))
    cfg, started = collector.backup_start()
    assert "clear-secret" not in json.dumps(cfg)
    assert cfg["env"] == {"RESTIC_PASSWORD_FILE": "/nonexistent"}
    assert started == {}  # no repository configured: nothing is queried


# ---------------------------------------------------------------------------- plan and run


def test_plan_passes_the_role_variables() -> None:
    plan = build_plan(load_profile(EXAMPLE, today=TODAY))
    server, ward = plan.host("lab-01").vars, plan.host("lab-02").vars
    assert server["esms_backup_enabled"] is True and ward["esms_backup_enabled"] is False
    assert server["esms_backup_repository"].startswith("sftp:")
    assert server["esms_backup_paths"] == ["/srv/dui", "/srv/partage"]
    assert server["esms_backup_schedule"] == "01:30"
    assert (server["esms_backup_retention_daily"], server["esms_backup_retention_weekly"],
            server["esms_backup_retention_monthly"]) == (7, 4, 12)
    assert server["esms_backup_password_var"] == BACKUP_PASSWORD_VAR
    assert plan.secret_env[BACKUP_PASSWORD_VAR] == "ESMS_BACKUP_PASSWORD"
    assert ward["esms_antivirus_enabled"] is True and ward["esms_antivirus_scan"] == "scheduled"
    assert "charte informatique" in ward["esms_banner_text"]
    assert ward["esms_banner_charter_version"] == "2026-01"
    # no host of the run backs up: the backup password is not asked for
    assert BACKUP_PASSWORD_VAR not in build_plan(load_profile(EXAMPLE, today=TODAY),
                                                 limit="lab-02").secret_env


def test_vault_backup_password_is_named_not_copied(tmp_path: Path) -> None:
    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    doc["backup"]["password"] = {"vault": "vault_restic_tilleuls"}
    doc["secrets"] = {"vault_file": "vault.yml"}
    (tmp_path / "vault.yml").write_text("$ANSIBLE_VAULT;1.1;AES256\n00\n")
    path = tmp_path / "site.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    plan = build_plan(load_profile(path, today=TODAY))
    assert plan.host("lab-01").vars["esms_backup_password_var"] == "vault_restic_tilleuls"
    assert BACKUP_PASSWORD_VAR not in plan.secret_env


def test_run_puts_the_backup_password_in_the_one_time_vault(monkeypatch: pytest.MonkeyPatch) -> None:
    from ansible.parsing.vault import VaultLib, VaultSecret

    from esms_baseline.errors import RunError
    from esms_baseline.run import _secret_material

    plan = build_plan(load_profile(EXAMPLE, today=TODAY), limit="lab-01")
    for env in plan.secret_env.values():
        monkeypatch.setenv(env, "pw-" + env)
    monkeypatch.setenv("ESMS_BACKUP_PASSWORD", "restic-Secret-42")
    with _secret_material(plan, None) as args:
        key = Path(args[args.index("--vault-id") + 1].split("@", 1)[1])
        blob = Path(args[args.index("-e") + 1][1:])
        assert b"restic-Secret-42" not in blob.read_bytes()
        assert oct(os.stat(key).st_mode & 0o777) == "0o600"
        vault = VaultLib([("esmsrun", VaultSecret(key.read_text().encode()))])
        from ansible.parsing.yaml.loader import AnsibleLoader  # reads !unsafe, as Ansible

        values = yaml.load(vault.decrypt(blob.read_bytes()), Loader=AnsibleLoader)
        assert values[BACKUP_PASSWORD_VAR] == "restic-Secret-42"
    monkeypatch.delenv("ESMS_BACKUP_PASSWORD")
    with pytest.raises(RunError, match="ESMS_BACKUP_PASSWORD"), _secret_material(plan, None):
        pass


# ---------------------------------------------------------------------------- organisation


def test_profile_without_organisation_evidence_never_passes(tmp_path: Path) -> None:
    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    del doc["organisation"]
    path = tmp_path / "site.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    plan = build_check_plan(load_profile(path, today=TODAY), today=TODAY)
    for cid in ("ESMS-ORG-01", "ESMS-ORG-02", "ESMS-ORG-03"):
        o = evidence(cid, plan.organisation, plan.today)
        assert o.passed is False and "à renseigner" in o.message, cid


def test_example_evidence_ages_out_after_max_age_months() -> None:
    plan = build_check_plan(load_profile(EXAMPLE, today=TODAY), today=TODAY)
    assert plan.organisation["ESMS-ORG-01"]["owner"] == "Infirmière coordinatrice"
    assert evidence("ESMS-ORG-01", plan.organisation, TODAY).passed is True
    later = dt.date(2027, 5, 15)  # degraded-mode drill of 2026-05-14, 12 months + 1 day
    o = evidence("ESMS-ORG-01", plan.organisation, later)
    assert o.passed is False and "older than 12 months" in o.message
