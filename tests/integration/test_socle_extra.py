"""Antivirus, backups with an off-site copy and the login banner on real lab hosts
(ESMS-AV-01/02, ESMS-BAK-01/02, ESMS-BAN-01): each control fails on a fresh host, passes
after the roles ran (except AV-02: lab hosts cannot download signatures, so it must FAIL with
"no signature database", never pass), and fails again after a manual break.

lab-01 is the site's server (group ``serveurs``: backed up); lab-02 plays the MSP's off-site
store (a ``backup`` user, an SFTP-only key, the repository folder): set up here, by the test,
because in production that store is the MSP's, not a site host. lab-01 reaches lab-02's sshd
only through esms_baseline.lab.relay (a Unix socket in lab-01's root, nsenter into lab-02's
network namespace, loopback only). The roles run through
tests/data/playbooks/debian-socle-extra.yml until they are wired into playbooks/site.yml; the
repository password travels as in a real run (esms_baseline.run._secret_material: the
environment variable the profile names, in a one-time encrypted vault file).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from esms_baseline.conformance.model import CheckPlan
from esms_baseline.conformance.runner import check
from esms_baseline.lab import Lab, nsenter_run
from esms_baseline.lab.relay import Relay, relay
from esms_baseline.plan import build_check_plan, build_plan
from esms_baseline.profile import SiteProfile, load_profile
from esms_baseline.resources import roles_dir
from esms_baseline.results import Verdict
from esms_baseline.run import _secret_material
from tests.conftest import random_secrets_in_env, running_lab

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "tests" / "data" / "playbooks" / "debian-socle-extra.yml"
SERVER, OFFSITE = "lab-01", "lab-02"
REPO_DIR = "/srv/restic/tilleuls"
REPOSITORY = f"sftp:backup@offsite:{REPO_DIR}"
CONTROLS = ["ESMS-AV-01", "ESMS-AV-02", "ESMS-BAK-01", "ESMS-BAK-02", "ESMS-BAN-01"]
KEY = "/root/.ssh/id_esms_backup"
#: the daily scan, 12 h from now: no scan fires (and fails for want of signatures) mid-test
SCAN_TIME = time.strftime("%H:%M", time.localtime(time.time() + 12 * 3600))


@pytest.fixture(scope="module")
def extra_lab() -> Iterator[Lab]:
    with running_lab("socle-extra", 2) as lab:
        yield lab


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> SiteProfile:
    """The example profile, its backup pointed at the lab's off-site store."""
    doc = yaml.safe_load((ROOT / "examples" / "site.yml").read_text(encoding="utf-8"))
    doc["backup"]["repository"] = REPOSITORY
    doc["backup"]["paths"] = ["/srv/dui"]
    path = tmp_path_factory.mktemp("profile") / "site.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_profile(path)


def sh(lab: Lab, host: str, script: str, check_rc: bool = True) -> str:
    return nsenter_run(lab, host, ["bash", "-c", script], check=check_rc).stdout


@pytest.fixture(scope="module")
def offsite(extra_lab: Lab) -> Iterator[Relay]:
    """lab-02 as the off-site store, lab-01's backup key accepted there (SFTP only); the
    relay from lab-01 to it. The key is made here, before the role runs (the role keeps an
    existing key): in production the MSP installs the public key the role prints."""
    sh(extra_lab, SERVER, f"install -d -m 0700 /root/.ssh && ssh-keygen -q -t ed25519 -N '' -f {KEY}"
                          " && mkdir -p /srv/dui && echo 'dossier usager' > /srv/dui/resident-42.txt")
    pub = sh(extra_lab, SERVER, f"cat {KEY}.pub").strip()
    sh(extra_lab, OFFSITE, f"""set -e
        usermod -d /srv/restic -s /bin/sh backup
        install -d -o backup -g backup -m 0700 /srv/restic /srv/restic/.ssh {REPO_DIR}
        printf '%s\\n' 'restrict,command="/usr/lib/openssh/sftp-server" {pub}' > /srv/restic/.ssh/authorized_keys
        chown backup:backup /srv/restic/.ssh/authorized_keys; chmod 0600 /srv/restic/.ssh/authorized_keys""")
    r = relay(extra_lab, SERVER, OFFSITE)
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture(scope="module")
def passwords(profile: SiteProfile) -> Iterator[dict[str, str]]:
    plan = build_plan(profile, limit=SERVER)
    with random_secrets_in_env(plan.secret_env.values()) as values:
        yield values


def apply(lab: Lab, profile: SiteProfile, r: Relay, *, tmp: Path) -> str:
    """Run the test playbook on lab-01 with the plan's variables; return its output."""
    plan = build_plan(profile, inventory=lab.inventory_path, limit=SERVER)
    hostkey = sh(lab, OFFSITE, "cat /etc/ssh/ssh_host_ed25519_key.pub").split()
    extra = {
        **plan.host(SERVER).vars,
        "esms_backup_ssh_proxy_command": r.proxy_command,
        "esms_backup_ssh_known_hosts": [f"offsite {hostkey[0]} {hostkey[1]}"],
        "esms_antivirus_scan_time": SCAN_TIME,
        "esms_antivirus_scan_paths": ["/home", "/srv"],
    }
    vars_file = tmp / "vars.json"
    vars_file.write_text(json.dumps(extra), encoding="utf-8")
    env = dict(os.environ, ANSIBLE_ROLES_PATH=str(roles_dir()), ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOST_KEY_CHECKING="True", ANSIBLE_RETRY_FILES_ENABLED="False")
    with _secret_material(plan, None) as secret_args:
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(lab.inventory_path),
             "-l", SERVER, str(PLAYBOOK), "-e", f"@{vars_file}", *secret_args],
            env=env, capture_output=True, text=True, check=False, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    for value in os.environ.values():
        if value.startswith("Esms-"):
            assert value not in proc.stdout + proc.stderr
    return proc.stdout


def wait_backup(lab: Lab, timeout: float = 180) -> str:
    deadline = time.monotonic() + timeout
    while True:
        state = sh(lab, SERVER, "systemctl show -p ActiveState --value esms-backup.service").strip()
        if state not in ("activating", "deactivating") or time.monotonic() > deadline:
            return state
        time.sleep(1)


def verdicts(lab: Lab, profile: SiteProfile, host: str = SERVER,
             **overrides: Any) -> dict[str, Any]:
    plan: CheckPlan = build_check_plan(profile, lab.inventory_path, host)
    target = replace(plan.hosts[0], vars={**plan.hosts[0].vars, **overrides})
    res = check(replace(plan, hosts=(target,)), controls=CONTROLS)
    return {r.control: r for r in res.results if r.host == host}


def repo_listing(lab: Lab) -> str:
    return sh(lab, OFFSITE, f"cd {REPO_DIR} && find . -printf '%p %s %T@\\n' | sort")


def test_fresh_hosts_fail(extra_lab: Lab, profile: SiteProfile) -> None:
    v = verdicts(extra_lab, profile)
    for cid in CONTROLS:
        assert v[cid].verdict is Verdict.FAIL, (cid, v[cid])
    assert "no signature database" in v["ESMS-AV-02"].message
    assert "not configured" in v["ESMS-BAK-01"].message
    # lab-02 is not in a backed-up group: not applicable, not a pass
    w = verdicts(extra_lab, profile, OFFSITE)
    assert w["ESMS-BAK-01"].verdict is Verdict.NOT_APPLICABLE
    assert w["ESMS-BAK-02"].verdict is Verdict.NOT_APPLICABLE


def test_apply_then_pass(extra_lab: Lab, profile: SiteProfile, offsite: Relay,
                         passwords: dict[str, str], tmp_path: Path) -> None:
    out = apply(extra_lab, profile, offsite, tmp=tmp_path)
    assert "Create the repository (it does not exist yet)" in out
    assert wait_backup(extra_lab) == "inactive"
    v = verdicts(extra_lab, profile)
    for cid in ("ESMS-AV-01", "ESMS-BAK-01", "ESMS-BAK-02", "ESMS-BAN-01"):
        assert v[cid].verdict is Verdict.PASS, (cid, v[cid])
    # no signatures can reach a lab host: stale or missing is a failure, never a pass
    assert v["ESMS-AV-02"].verdict is Verdict.FAIL
    assert "no signature database" in v["ESMS-AV-02"].message
    assert "sha256 matches" in json.dumps(v["ESMS-BAK-02"].found)
    # the password is root-only on the host, never in the settings
    assert sh(extra_lab, SERVER, "stat -c '%a %U' /etc/esms-baseline/restic.pass").strip() == "600 root"
    assert passwords["ESMS_BACKUP_PASSWORD"] == sh(extra_lab, SERVER, "cat /etc/esms-baseline/restic.pass")
    assert "PASSWORD=" not in sh(extra_lab, SERVER, "cat /etc/esms-baseline/backup.env").replace(
        "PASSWORD_FILE=", "")
    # sshd shows the banner
    assert sh(extra_lab, SERVER, "sshd -T | grep -i '^banner'").strip() == "banner /etc/issue.net"


def test_second_apply_changes_nothing_and_never_reinitialises(
        extra_lab: Lab, profile: SiteProfile, offsite: Relay, passwords: dict[str, str],
        tmp_path: Path) -> None:
    config = sh(extra_lab, OFFSITE, f"sha256sum {REPO_DIR}/config")
    out = apply(extra_lab, profile, offsite, tmp=tmp_path)
    recap = re.search(r"lab-01\s+:\s+ok=\d+\s+changed=(\d+)", out)
    assert recap and recap.group(1) == "0", out[-3000:]
    assert sh(extra_lab, OFFSITE, f"sha256sum {REPO_DIR}/config") == config


def test_check_leaves_the_repository_untouched(extra_lab: Lab, profile: SiteProfile,
                                               offsite: Relay) -> None:
    before = repo_listing(extra_lab)
    assert verdicts(extra_lab, profile)["ESMS-BAK-02"].verdict is Verdict.PASS
    assert repo_listing(extra_lab) == before  # no lock, no cache, nothing written


def test_breaks_fail(extra_lab: Lab, profile: SiteProfile, offsite: Relay) -> None:
    sh(extra_lab, SERVER, "systemctl stop clamav-freshclam.service")
    sh(extra_lab, SERVER, "echo 'Debian GNU/Linux 12' > /etc/issue.net")
    v = verdicts(extra_lab, profile, esms_backup_max_age_hours=0)
    assert v["ESMS-AV-01"].verdict is Verdict.FAIL and "freshclam" in v["ESMS-AV-01"].message
    assert v["ESMS-BAN-01"].verdict is Verdict.FAIL and "/etc/issue.net" in v["ESMS-BAN-01"].message
    assert v["ESMS-BAK-02"].verdict is Verdict.FAIL and "maximum 0 h" in v["ESMS-BAK-02"].message
    assert v["ESMS-BAK-01"].verdict is Verdict.PASS
    sh(extra_lab, SERVER, "systemctl disable --now esms-backup.timer && "
                          "rm /etc/systemd/system/esms-backup.timer && systemctl daemon-reload")
    offsite.stop()  # the off-site store becomes unreachable
    v = verdicts(extra_lab, profile)
    assert v["ESMS-BAK-01"].verdict is Verdict.FAIL and "esms-backup.timer" in v["ESMS-BAK-01"].message
    assert v["ESMS-BAK-02"].verdict is Verdict.FAIL
    assert v["ESMS-BAK-02"].message.startswith("unreachable repository")
