"""The sector's controls on real lab hosts: supported systems (ESMS-UPD-04) and providers'
access (ESMS-PRV-01..03).

- a bullseye host (Debian 11, LTS ended 2026-08-31) fails ESMS-UPD-04; a bookworm host
  passes (LTS until 2028-06-30): the verdict follows catalogue/eol.yml and the day;
- on the bookworm host, before the role: an ex-provider's account left usable, an
  undeclared remote-control package (a fake ``anydesk`` .deb built here with dpkg-deb) and
  sshd's default LogLevel make PRV-01, PRV-02 and PRV-03 fail; after the role PRV-01 and
  PRV-03 pass, a second apply changes nothing, PRV-02 still fails naming anydesk (detection
  only: nothing is removed) until the profile declares it;
- a real SSH login with a key: refused for the ended access (PAM: account expired),
  accepted for the current one, and the journal holds the key's fingerprint.
"""

from __future__ import annotations

import base64
import datetime as dt
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from esms_baseline.catalogue.eol import debian_support, verdict_of
from esms_baseline.conformance import check
from esms_baseline.lab import Lab, nsenter_run
from esms_baseline.plan import build_check_plan, build_plan
from esms_baseline.profile import SiteProfile, load_profile
from esms_baseline.report import render
from esms_baseline.results import CheckResult, ControlResult, Verdict
from esms_baseline.run import apply
from tests.conftest import random_secrets_in_env, running_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

HOST = "lab-01"
PRV = ["ESMS-PRV-01", "ESMS-PRV-02", "ESMS-PRV-03"]
APPLY = ["ESMS-ACC-01", *PRV]
PASSWORD_ENV = "ESMS_PW_PRESTA_TEST"
#: one initial password per account (validate refuses a shared one)
PASSWORD_ENV_OLD = "ESMS_PW_PRESTA_OLD_TEST"


def _profile_doc(tools: list[str]) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "site": {"name": "EHPAD Test Prestataires", "finess": "690009999"},
        "inventory": {"hosts": {HOST: {"groups": ["serveurs"]}}, "groups": {"serveurs": {}}},
        "accounts": {
            "management_account": "esms-admin",
            "users": [
                {"login": "presta-dui", "full_name": "Paul Presta", "role": "Technicien DUI",
                 "provider": "Editeur DUI", "initial_password": {"env": PASSWORD_ENV}},
                {"login": "presta-old", "full_name": "Ancien Presta", "role": "Réseau",
                 "provider": "Ancien Mainteneur", "initial_password": {"env": PASSWORD_ENV_OLD}},
            ],
        },
        "firewall": {"management": {"sources": ["127.0.0.1/32", "198.51.100.0/24"]}},
        "providers": [
            {"name": "Editeur DUI", "contract": "CTR-2025-014", "maintains": "logiciel DUI",
             "access": "vendor_tool" if tools else "ssh", "tools": tools,
             "sources": ["198.51.100.0/24"], "groups": ["serveurs"],
             "accounts": ["presta-dui"], "access_until": "2027-06-30"},
            {"name": "Ancien Mainteneur", "contract": "CTR-2021-003", "maintains": "réseau",
             "access": "ssh", "sources": ["198.51.100.0/24"], "hosts": [HOST],
             "accounts": ["presta-old"], "access_until": "2026-10-31"},
        ],
    }


def _profile(tmp: Path, tools: list[str]) -> SiteProfile:
    path = tmp / f"site-{'-'.join(tools) or 'none'}.yml"
    path.write_text(yaml.safe_dump(_profile_doc(tools), allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return load_profile(path)


def _row(result: CheckResult, control: str) -> ControlResult:
    return next(r for r in result.results if r.control == control)


def _sh(lab: Lab, script: str, check_rc: bool = True) -> subprocess.CompletedProcess[str]:
    return nsenter_run(lab, HOST, ["bash", "-c", script], check=check_rc)


def _fake_deb(tmp: Path, name: str) -> bytes:
    """A minimal package named ``name`` (what a vendor's installer leaves in dpkg)."""
    root = tmp / f"{name}-pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "usr/share/doc" / name).mkdir(parents=True)
    (root / "usr/share/doc" / name / "README").write_text("esms-baseline test package\n")
    (root / "DEBIAN/control").write_text(
        f"Package: {name}\nVersion: 1.0-esms\nArchitecture: all\n"
        "Maintainer: esms-baseline tests <tests@invalid>\n"
        "Description: fake remote-control package for ESMS-PRV-02 tests\n")
    out = tmp / f"{name}.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(root), str(out)],
                   check=True, capture_output=True)
    return out.read_bytes()


def _expected_upd04(release: str, today: dt.date) -> str:
    verdict, _ = verdict_of(debian_support(release), today, 180)
    return {"pass": "pass", "warning": "warning", "fail": "fail"}[verdict]


@pytest.fixture(scope="module")
def bullseye_lab() -> Iterator[Lab]:
    with running_lab("sector-bullseye", 1, suite="bullseye") as lab:
        yield lab


@pytest.fixture(scope="module")
def bookworm_lab() -> Iterator[Lab]:
    with running_lab("sector-bookworm", 1) as lab:
        yield lab


def test_bullseye_host_fails_end_of_support(bullseye_lab: Lab, tmp_path: Path) -> None:
    assert _sh(bullseye_lab, "cat /etc/debian_version").stdout.startswith("11")
    profile = _profile(tmp_path, [])
    res = check(build_check_plan(profile, bullseye_lab.inventory_path, HOST),
                controls=["ESMS-UPD-04"])
    row = _row(res, "ESMS-UPD-04")
    assert row.verdict.value == _expected_upd04("11", dt.date.today()), row
    if row.verdict is Verdict.FAIL:  # since 2026-09-01
        assert row.found["release"] == "Debian 11 (bullseye)"
        assert row.found["security_updates_until"] == "2026-08-31"
        assert "2026-08-31" in row.message and res.exit_code == 1
        html = render(res, "html", lang="fr")
        assert "Machines obsolètes" in html and "Debian 11 (bullseye)" in html
        assert "plus depuis le 31 août 2026" in html and "mise à niveau du système" in html
        assert "has received no security update" not in html  # the French report is French


def test_bookworm_host_and_providers_access(bookworm_lab: Lab, tmp_path: Path) -> None:
    lab = bookworm_lab
    deb = base64.b64encode(_fake_deb(tmp_path, "anydesk")).decode()
    _sh(lab, f"echo {deb} | base64 -d > /root/anydesk.deb && dpkg -i /root/anydesk.deb"
             " && rm /root/anydesk.deb"
             # an ex-provider's account left behind, usable, before the baseline
             " && useradd -m -s /bin/bash -c 'Ancien Presta' presta-old")
    profile = _profile(tmp_path, [])
    checks = ["ESMS-UPD-04", *PRV]
    before = check(build_check_plan(profile, lab.inventory_path, HOST), controls=checks)
    upd = _row(before, "ESMS-UPD-04")
    assert upd.verdict.value == _expected_upd04("12", dt.date.today()), upd
    assert {c: _row(before, c).verdict for c in PRV} == dict.fromkeys(PRV, Verdict.FAIL)
    assert "presta-old" in _row(before, "ESMS-PRV-01").message
    assert "anydesk (packages: anydesk)" in _row(before, "ESMS-PRV-02").message
    assert "LogLevel INFO" in _row(before, "ESMS-PRV-03").message

    with random_secrets_in_env([PASSWORD_ENV, PASSWORD_ENV_OLD]):
        plan = build_plan(profile, inventory=lab.inventory_path, limit=HOST)
        first = apply(plan, controls=APPLY, artifacts_dir=tmp_path / "a1")
        assert first.exit_code == 0, [h.errors for h in first.hosts]
        second = apply(plan, controls=APPLY, artifacts_dir=tmp_path / "a2")
        assert second.exit_code == 0 and second.changed == 0, second.hosts
    after = check(build_check_plan(profile, lab.inventory_path, HOST),
                  controls=[*checks, "ESMS-ACC-01"])
    verdicts = {r.control: r.verdict for r in after.results}
    assert verdicts["ESMS-PRV-01"] is Verdict.PASS, _row(after, "ESMS-PRV-01")
    assert verdicts["ESMS-PRV-03"] is Verdict.PASS, _row(after, "ESMS-PRV-03")
    assert verdicts["ESMS-ACC-01"] is Verdict.PASS, _row(after, "ESMS-ACC-01")
    # detection only: still installed, still failing, named
    assert verdicts["ESMS-PRV-02"] is Verdict.FAIL
    assert "anydesk" in _row(after, "ESMS-PRV-02").message
    assert "ii  anydesk" in _sh(lab, "dpkg -l anydesk").stdout
    # chage -E: the day after the last day of access (2026-10-31 -> day 20758, 2027-06-30 ->
    # 21000); the ended access is also locked (passwd -S: L)
    expiry = _sh(lab, "getent shadow presta-old presta-dui | cut -d: -f1,8").stdout.split()
    assert sorted(expiry) == ["presta-dui:21000", "presta-old:20758"], expiry
    assert _sh(lab, "passwd -S presta-old").stdout.split()[1] == "L"

    # a real login with a key: the ended access is refused, the current one accepted,
    # and the key's fingerprint is in the journal (LogLevel VERBOSE)
    pub = Path(str(lab.private_key) + ".pub").read_text().strip()
    for user in ("presta-old", "presta-dui"):
        _sh(lab, f"install -d -m 700 -o {user} -g {user} /home/{user}/.ssh && "
                 f"printf '%s\\n' '{pub}' > /home/{user}/.ssh/authorized_keys && "
                 f"chown {user}:{user} /home/{user}/.ssh/authorized_keys")
    ssh = ["ssh", "-F", str(lab.ssh_config_path), "-o", "ControlMaster=no", "-o", "ControlPath=none",
           "-o", "BatchMode=yes"]
    old = subprocess.run([*ssh, "-l", "presta-old", HOST, "true"], capture_output=True,
                         text=True, timeout=60, check=False)
    assert old.returncode == 255, old
    subprocess.run([*ssh, "-l", "presta-dui", HOST, "true"], capture_output=True, text=True,
                   timeout=60, check=False)
    journal = _sh(lab, "journalctl -u ssh --no-pager -o cat").stdout
    assert "account presta-old has expired" in journal
    assert "Accepted publickey for presta-dui" in journal
    assert "Accepted key ED25519 SHA256:" in journal  # the key of each login is logged

    html = render(after, "html", lang="fr")
    assert "Accès des prestataires" in html and "CTR-2025-014" in html
    assert "Ancien Mainteneur" in html and "échu" in html and "anydesk" in html
    assert "logiciel de prise en main à distance non déclaré : anydesk" in html
    assert "undeclared remote-control software" not in html

    declared = _profile(tmp_path, ["anydesk"])
    res = check(build_check_plan(declared, lab.inventory_path, HOST), controls=["ESMS-PRV-02"])
    assert _row(res, "ESMS-PRV-02").verdict is Verdict.PASS, _row(res, "ESMS-PRV-02")
