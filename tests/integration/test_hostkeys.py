"""Host keys on a real lab host: nothing (no task, no secret) reaches a host whose SSH key is
not the recorded one; first contact goes through ``esms-baseline trust``.

The lab records each host's real keys read from the host's own disk (known_hosts.d/<host>);
these tests empty that file to play a real site seen for the first time, and regenerate the
host's keys inside it (nsenter) to play a replaced or impersonated host.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from esms_baseline.cli import main
from esms_baseline.conformance import check
from esms_baseline.lab import Lab, nsenter_run
from esms_baseline.lab.sshconf import KNOWN_HOSTS_DIR
from esms_baseline.plan import build_check_plan, build_plan
from esms_baseline.profile import load_profile
from esms_baseline.results import CheckResult, TaskOutcome, Verdict
from esms_baseline.run import apply
from tests.conftest import random_secrets_in_env, running_lab
from tests.integration.conftest import digest, host_state

pytestmark = [pytest.mark.lab, pytest.mark.slow]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "site.yml"
HOST = "lab-01"
CONTROLS = ["ESMS-ACC-01"]  # creates the users, with their initial passwords (secrets)


@pytest.fixture(scope="module")
def keylab() -> Iterator[Lab]:
    """lab-01 plays the host under test; lab-02 (its key known) shows the others go on."""
    with running_lab("hostkeys", 2) as lab:
        # a real site seen for the first time: the lab's own record of the key is emptied
        (lab.state_dir / KNOWN_HOSTS_DIR / HOST).write_text("")
        yield lab


def _apply(lab: Lab, tmp: Path, limit: str = HOST, **kw: object):  # type: ignore[no-untyped-def]
    profile = load_profile(EXAMPLE)
    plan = build_plan(profile, inventory=lab.inventory_path, limit=limit)
    names = sorted(plan.secret_env.values())
    with random_secrets_in_env(names):
        kw.setdefault("controls", CONTROLS)
        return apply(plan, artifacts_dir=tmp, forks=1, **kw)  # type: ignore[arg-type]


def _check(lab: Lab, trust_on_first_use: bool = False) -> CheckResult:
    plan = build_check_plan(load_profile(EXAMPLE), lab.inventory_path, HOST)
    return check(plan, controls=CONTROLS, trust_on_first_use=trust_on_first_use)


def _has_user(lab: Lab, login: str, host: str = HOST) -> bool:
    return nsenter_run(lab, host, ["getent", "passwd", login], check=False).returncode == 0


def _trust(lab: Lab, *extra: str) -> int:
    return main(["trust", str(EXAMPLE), "-i", str(lab.inventory_path), "--host", HOST, *extra])


def _real_fingerprints(lab: Lab) -> set[str]:
    """SHA256 fingerprints of the host's keys, read on the host itself (ssh-keygen there)."""
    out = nsenter_run(lab, HOST, ["sh", "-c", ("for f in /etc/ssh/ssh_host_*_key.pub; do "
                                              "ssh-keygen -l -E sha256 -f $f; done")]).stdout
    return {line.split()[1] for line in out.splitlines()}


def test_unknown_key_refused_then_trusted(keylab: Lab, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    before = digest(host_state(keylab, HOST))
    result = _apply(keylab, tmp_path)
    assert result.exit_code == 3 and result.status == "refused"
    (h,) = result.hosts
    assert h.unreachable and "not known yet" in h.errors[0] and "trust" in h.errors[0]
    assert not _has_user(keylab, "jmartin")
    assert digest(host_state(keylab, HOST)) == before  # nothing was sent or changed
    assert not list(tmp_path.rglob("job_events"))  # Ansible never started

    checked = _check(keylab)
    assert checked.exit_code == 3
    assert {r.verdict for r in checked.results} == {Verdict.UNREACHABLE}
    assert "not known yet" in checked.results[0].message

    # --trust-on-first-use records the key of a host seen for the first time
    site_file = Path(os.environ["ESMS_STATE_DIR"]) / "known_hosts" / "ehpad-les-tilleuls"
    tofu = _check(keylab, trust_on_first_use=True)
    assert Verdict.UNREACHABLE not in {r.verdict for r in tofu.results}
    recorded = {ln.split()[2] for ln in site_file.read_text().splitlines()}
    real = nsenter_run(keylab, HOST, ["sh", "-c", "cat /etc/ssh/ssh_host_*_key.pub"]).stdout
    assert recorded and recorded <= {ln.split()[1] for ln in real.splitlines()}
    site_file.unlink()  # back to first contact, for the trust command

    capsys.readouterr()
    assert _trust(keylab, "--yes") == 0
    out = capsys.readouterr().out
    shown = {w for w in out.split() if w.startswith("SHA256:")}
    assert shown and shown == _real_fingerprints(keylab), out  # what the host itself says
    assert site_file.stat().st_mode & 0o777 == 0o600
    assert _trust(keylab, "--yes") == 0 and "already known" in capsys.readouterr().out

    result = _apply(keylab, tmp_path)
    assert not result.hosts[0].unreachable, result.hosts[0].errors
    assert result.exit_code == 0 and _has_user(keylab, "jmartin")
    assert _check(keylab).exit_code == 0


def test_changed_key_stops_the_host_before_anything(keylab: Lab, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from esms_baseline.run_hosts import verify_host_keys

    assert _trust(keylab, "--yes") == 0
    # the inventory a run gives its verified hosts (enforced ssh options), for the 2nd layer
    plan = build_plan(load_profile(EXAMPLE), inventory=keylab.inventory_path, limit=HOST)
    refused, keys_inventory = verify_host_keys(
        plan, plan.write_inventory(tmp_path / "inv"), None, False)
    assert refused == {} and keys_inventory is not None

    nsenter_run(keylab, HOST, ["sh", "-c", ("rm -f /etc/ssh/ssh_host_*key* && ssh-keygen -A "
                                            "&& systemctl restart ssh")])
    for host in ("lab-01", "lab-02"):
        nsenter_run(keylab, host, ["userdel", "-r", "mdupont"], check=False)
    before = digest(host_state(keylab, HOST))

    result = _apply(keylab, tmp_path, limit="lab-01,lab-02")
    assert result.exit_code == 3
    h1, h2 = result.hosts
    assert h1.unreachable and "CHANGED" in h1.errors[0] and h1.ok == 0 and h1.changed == 0
    assert not _has_user(keylab, "mdupont")
    assert digest(host_state(keylab, HOST)) == before  # nothing reached the changed host
    assert not h2.unreachable and not h2.failed and _has_user(keylab, "mdupont", "lab-02")

    for tofu in (False, True):  # trust on first use never accepts a CHANGED key
        checked = _check(keylab, trust_on_first_use=tofu)
        assert {r.verdict for r in checked.results} == {Verdict.UNREACHABLE}
        assert "CHANGED" in checked.results[0].message

    # second layer: Ansible itself, with the options a run gives a verified host, refuses it
    ansible = Path(os.environ.get("VIRTUAL_ENV", "")) / "bin" / "ansible"
    exe = str(ansible) if ansible.exists() else "ansible"
    proc = subprocess.run(
        [exe, HOST, "-m", "ping", "-i", str(keylab.inventory_path), "-i", str(keys_inventory),
         "-e", f"ansible_control_path_dir={tmp_path / 'acp'}"],  # no master of earlier runs
        capture_output=True, text=True, check=False,
        env={**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_SSH_ARGS": ""},
    )
    assert proc.returncode != 0 and "Host key verification failed" in proc.stdout + proc.stderr

    capsys.readouterr()
    assert _trust(keylab, "--yes") == 3  # a changed key is never recorded silently
    assert "CHANGED" in capsys.readouterr().err
    assert _trust(keylab, "--yes", "--replace") == 0
    assert _apply(keylab, tmp_path).exit_code == 0 and _has_user(keylab, "mdupont")


def test_backup_store_key_is_pinned_on_the_host(keylab: Lab, tmp_path: Path) -> None:
    """backup.store_host_key ends up as the only accepted key of the store, with strict
    checking, in root's ssh settings for the store (the store itself is not reachable here:
    the backup control fails later, at the repository, which is not what is checked); a
    hostile key (a second line) is refused by the role before anything is written."""
    assert _trust(keylab, "--yes", "--replace") == 0
    key = " ".join(nsenter_run(keylab, HOST, ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"])
                   .stdout.split()[:2])
    store = {"esms_backup_repository": "sftp:tilleuls@store.esms-lab.invalid:/depots/t"}
    nsenter_run(keylab, HOST, ["rm", "-f", "/etc/esms-baseline/backup-known-hosts"])
    hostile = _apply(keylab, tmp_path, controls=["ESMS-BAK-01"],
                     extravars={**store, "esms_backup_store_host_key": key + "\nevil ssh-rsa AAAA"})
    assert hostile.hosts[0].controls.get("ESMS-BAK-01") is TaskOutcome.FAILED
    assert any("one line" in e for e in hostile.hosts[0].errors), hostile.hosts[0].errors
    assert nsenter_run(keylab, HOST, ["test", "-e", "/etc/esms-baseline/backup-known-hosts"],
                       check=False).returncode != 0

    _apply(keylab, tmp_path, controls=["ESMS-BAK-01"],
           extravars={**store, "esms_backup_store_host_key": key})
    known = nsenter_run(keylab, HOST, ["cat", "/etc/esms-baseline/backup-known-hosts"]).stdout
    assert known == f"store.esms-lab.invalid {key}\n"
    config = nsenter_run(keylab, HOST, ["cat", "/root/.ssh/config"]).stdout
    assert "StrictHostKeyChecking yes" in config
    assert "UserKnownHostsFile /etc/esms-baseline/backup-known-hosts" in config
