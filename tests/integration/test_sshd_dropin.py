"""An sshd drop-in that breaks the whole sshd configuration (``sshd -t``) is removed again
(or the previous one put back) and its control fails: it never waits for the next restart,
where sshd would not start. Proved on a real lab host: after the failed run, sshd is
restarted and still accepts a login.

Two ways to break the whole configuration while the drop-in alone is valid:
- a hostile value through the API (extravars): a charter version that adds an ``Include`` of
  the main sshd_config to the drop-in: alone (as ``validate`` checks it) the drop-in is
  fine, within the whole configuration it includes itself until sshd gives up;
- a main sshd_config already broken by hand, which only the whole check sees.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from esms_baseline.lab import Lab, nsenter_run
from esms_baseline.lab.core import ssh_argv
from esms_baseline.plan import build_plan
from esms_baseline.profile import load_profile
from esms_baseline.results import ApplyResult, TaskOutcome
from esms_baseline.run import apply
from tests.conftest import random_secrets_in_env, running_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "site.yml"
HOST = "lab-01"
DROPINS = "/etc/ssh/sshd_config.d"
BROKEN_TAIL = "\n# esms-test: broken by hand\nMatch User nobody\nUsePAM yes\n"


@pytest.fixture(scope="module")
def dlab() -> Iterator[Lab]:
    with running_lab("sshd-dropin", 1) as lab:
        yield lab


def _apply(lab: Lab, tmp: Path, controls: list[str], extravars: dict[str, Any] | None = None,
           ) -> ApplyResult:
    plan = build_plan(load_profile(EXAMPLE), inventory=lab.inventory_path, limit=HOST)
    with random_secrets_in_env(plan.secret_env.values()):
        return apply(plan, controls=controls, artifacts_dir=tmp, forks=1,
                     extravars=extravars or {})


def _sh(lab: Lab, script: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return nsenter_run(lab, HOST, ["sh", "-c", script], check=check)


def _restart_and_login(lab: Lab) -> None:
    """sshd restarts with what is on disk, and a fresh SSH login works."""
    _sh(lab, "systemctl restart ssh && systemctl is-active ssh")
    proc = subprocess.run(ssh_argv(lab.ssh_config_path, HOST, "id -un"), capture_output=True,
                          text=True, check=False, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == lab.management_user, proc.stderr


def test_hostile_value_never_leaves_a_breaking_dropin(dlab: Lab, tmp_path: Path) -> None:
    hostile = "2026)\nInclude /etc/ssh/sshd_config\n#"
    result = _apply(dlab, tmp_path, ["ESMS-BAN-01"], {"esms_banner_charter_version": hostile})
    assert _sh(dlab, "/usr/sbin/sshd -t").returncode == 0  # the whole configuration is sound
    found = _sh(dlab, f"grep -rl '^Include' {DROPINS} || true").stdout.strip()
    assert found == "", found
    if result.hosts[0].controls.get("ESMS-BAN-01") is TaskOutcome.FAILED:
        # refused by a layer of the role (quoted, asserted) or rescued after the whole check
        assert result.exit_code == 1
        print("ESMS-BAN-01 refused:", result.hosts[0].errors)
    _restart_and_login(dlab)


def test_dropin_failing_the_whole_check_is_removed(dlab: Lab, tmp_path: Path) -> None:
    """ESMS-ACC-06 (the same block/rescue is generated for ESMS-LOCK-02 and ESMS-BAN-01)."""
    cid, path = "ESMS-ACC-06", f"{DROPINS}/05-esms-accounts.conf"
    _sh(dlab, f"rm -f {path}; cp -p /etc/ssh/sshd_config /root/sshd_config.esms-test && "
              f"printf '{BROKEN_TAIL}' >> /etc/ssh/sshd_config")
    try:
        assert _sh(dlab, "/usr/sbin/sshd -t", check=False).returncode != 0
        result = _apply(dlab, tmp_path, [cid])
        (h,) = result.hosts
        assert h.controls.get(cid) is TaskOutcome.FAILED and result.exit_code == 1
        assert any("does not pass `sshd -t`" in e and "removed" in e for e in h.errors), h.errors
        assert _sh(dlab, f"test -e {path}", check=False).returncode != 0  # gone again
    finally:
        _sh(dlab, "mv /root/sshd_config.esms-test /etc/ssh/sshd_config")
    _restart_and_login(dlab)
