"""Issue #10 on a real lab host: hostile profile values given through the API (no
``validate``) never change the meaning of what the roles write.

One host. A library user builds a profile whose banner charter version and backup
repository carry a line break and directives (``PermitEmptyPasswords yes``,
``MaxAuthTries 42``, a ``ProxyCommand``): ``build_plan`` refuses it (nothing runs). Built
into the plan directly (past the plan's check too), the roles refuse both (the host reports
the failed task) and sshd's effective configuration (``sshd -T``) has no injected directive.
Then
printable but tricky values (quotes, backslashes, ``$()``, backquotes, ``%``) are applied:
``sshd -t`` accepts the drop-in, which holds one directive; systemd itself reads the
repository back from the backup environment file exactly (``systemd-run`` with that
EnvironmentFile), and the backup service backs up into the repository of that literal name,
with no command run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from esms_baseline.errors import PlanError
from esms_baseline.lab import Lab, nsenter_run
from esms_baseline.plan import Plan, build_plan
from esms_baseline.profile import SiteProfile, load_profile
from esms_baseline.results import ApplyResult
from esms_baseline.run import apply
from tests.conftest import random_secrets_in_env, running_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

PROFILE = """\
schema_version: 1
site: {name: EHPAD Trust, finess: "690009999"}
inventory:
  hosts:
    lab-01: {}
accounts:
  management_account: esms-admin
firewall:
  management:
    sources: [127.0.0.0/8]
backup:
  enabled: true
  paths: [/etc/hostname]
  repository: sftp:store@backup.example:/depot
  password: {env: ESMS_TRUST_BACKUP_PASSWORD}
banner:
  charter_version: "2026-01"
  text: Bienvenue
"""
PWNED = "/run/esms-trust-pwned"
HOSTILE_VERSION = "2026-01\nPermitEmptyPasswords yes\nMaxAuthTries 42"
HOSTILE_REPO = "sftp:store@backup.example:/depot\nProxyCommand sh -c 'touch " + PWNED + "'"
TRICKY_VERSION = '2026 "01" $(touch ' + PWNED + ") `id` %h \\x"
TRICKY_REPO = '/var/lib/esms-trust/repo "q" $(touch ' + PWNED + ") `id` %h \\x"


@pytest.fixture(scope="module")
def trust_lab() -> Iterator[Lab]:
    with running_lab("trust", 1) as lab:
        yield lab


def _profile(tmp_path: Path, version: str, repository: str) -> SiteProfile:
    f = tmp_path / "site.yml"
    f.write_text(PROFILE, encoding="utf-8")
    p = load_profile(f)
    assert p.banner is not None
    # what a library user can do: no validate between these values and the plan
    return dataclasses.replace(
        p, banner=dataclasses.replace(p.banner, charter_version=version),
        backup=dataclasses.replace(p.backup, repository=repository))


def _apply(lab: Lab, plan: Plan, tmp_path: Path,
           controls: tuple[str, ...] = ("ESMS-BAN-01", "ESMS-BAK-01")) -> ApplyResult:
    with random_secrets_in_env(["ESMS_TRUST_BACKUP_PASSWORD"]):
        return apply(plan, controls=list(controls), forks=1, artifacts_dir=tmp_path / "runs")


def _sh(lab: Lab, script: str) -> str:
    return nsenter_run(lab, "lab-01", ["bash", "-c", script], check=False).stdout


def _sshd_effective(lab: Lab) -> dict[str, str]:
    out = _sh(lab, "sshd -T -C user=esms-admin,host=x,addr=127.0.0.1")
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def test_hostile_values_are_refused_and_nothing_is_injected(trust_lab: Lab, tmp_path: Path) -> None:
    before = _sshd_effective(trust_lab)
    # through the API: the plan refuses, nothing runs
    with pytest.raises(PlanError) as info:
        build_plan(_profile(tmp_path, HOSTILE_VERSION, HOSTILE_REPO), inventory=trust_lab.inventory_path)
    assert "esms_banner_charter_version" in str(info.value)
    assert "esms_backup_repository" in str(info.value)
    # past the plan (its variables set directly): the roles refuse; a failed task stops the
    # host, so one apply per hostile value
    clean = build_plan(_profile(tmp_path, "2026-01", "sftp:store@backup.example:/depot"),
                       inventory=trust_lab.inventory_path)
    for var, value, control in [
        ("esms_banner_charter_version", HOSTILE_VERSION, "ESMS-BAN-01"),
        ("esms_backup_repository", HOSTILE_REPO, "ESMS-BAK-01"),
    ]:
        (h,) = clean.hosts
        plan = dataclasses.replace(clean, hosts=(dataclasses.replace(h, vars={**h.vars, var: value}),))
        result = _apply(trust_lab, plan, tmp_path, (control,))
        (host,) = result.hosts
        assert host.failed == 1 and len(host.errors) == 1, host.errors
        assert host.errors[0].startswith(control) and var in host.errors[0], host.errors
        assert "refused" in host.errors[0]
    after = _sshd_effective(trust_lab)
    assert after["permitemptypasswords"] == before["permitemptypasswords"] == "no"
    assert after["maxauthtries"] == before["maxauthtries"] == "6"
    dropins = _sh(trust_lab, "cat /etc/ssh/sshd_config.d/*.conf 2>/dev/null; cat /root/.ssh/config "
                             "/etc/esms-baseline/backup.env 2>/dev/null")
    assert "PermitEmptyPasswords" not in dropins and "ProxyCommand" not in dropins
    assert _sh(trust_lab, f"test -e {PWNED} && echo yes").strip() == ""


def test_tricky_values_are_written_inertly(trust_lab: Lab, tmp_path: Path) -> None:
    plan = build_plan(_profile(tmp_path, TRICKY_VERSION, TRICKY_REPO), inventory=trust_lab.inventory_path)
    result = _apply(trust_lab, plan, tmp_path)
    (host,) = result.hosts
    assert not host.errors, host.errors
    # sshd: the drop-in passes sshd -t and holds one directive, the version in a comment
    drop = _sh(trust_lab, "cat /etc/ssh/sshd_config.d/05-esms-banner.conf")
    assert [ln for ln in drop.splitlines() if ln and not ln.startswith("#")] == [
        "Banner /etc/issue.net"]
    assert TRICKY_VERSION in drop
    assert nsenter_run(trust_lab, "lab-01", ["sshd", "-t"], check=False).returncode == 0
    assert _sshd_effective(trust_lab)["banner"] == "/etc/issue.net"
    # /etc/issue: agetty's backslash escapes doubled
    assert "\\\\x" in _sh(trust_lab, "head -n 1 /etc/issue")
    # systemd reads the repository back exactly from the EnvironmentFile
    seen = _sh(trust_lab, "systemd-run --quiet --wait --pipe --collect "
                          "-p EnvironmentFile=/etc/esms-baseline/backup.env "
                          "/usr/bin/printenv RESTIC_REPOSITORY")
    assert seen == TRICKY_REPO + "\n"
    # and the backup service backs up into the repository of that literal name
    started = nsenter_run(trust_lab, "lab-01", ["systemctl", "start", "esms-backup.service"],
                          check=False, timeout=300)
    assert started.returncode == 0, started.stderr + _sh(
        trust_lab, "journalctl -u esms-backup.service --no-pager | tail -n 20")
    assert _sh(trust_lab, "test -f \"$1/config\" && echo yes".replace("$1", TRICKY_REPO.replace(
        "\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`"))).strip() == "yes"
    assert _sh(trust_lab, f"test -e {PWNED} && echo yes").strip() == ""
