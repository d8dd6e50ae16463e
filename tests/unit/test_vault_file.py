"""The site's vault file cannot carry anything but the profile's secrets.

Ansible reads it as extra variables (``-e @file``): the highest precedence, on every host.
A variable in it named ``ansible_ssh_args`` would replace the options that verify host keys,
``esms_firewall_ruleset_override`` the whole firewall: the host-variable allowlist
(docs/trust.md) would be bypassed through the vault. Two layers: ``validate`` refuses a
``{vault: name}`` named like an Ansible or esms-baseline variable; the run decrypts the file
(Ansible's own loader) and refuses any variable the profile does not reference, before
anything runs.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from esms_baseline.errors import ProfileError, RunError
from esms_baseline.profile import load_profile
from esms_baseline.run import _secret_material

VALID = Path(__file__).resolve().parents[1] / "data" / "profiles" / "valid"


def _profile(tmp_path: Path, vault_name: str = "backup_password") -> Path:
    shutil.copytree(VALID / "secrets", tmp_path / "secrets")
    text = (VALID / "vault-refs.yml").read_text()
    path = tmp_path / "site.yml"
    path.write_text(text.replace("{vault: backup_password}", f"{{vault: {vault_name}}}"))
    return path


@pytest.mark.parametrize("name", ["ansible_ssh_args", "esms_firewall_ruleset_override",
                                  "hostvars"])
def test_validate_refuses_a_vault_name_that_is_a_setting(tmp_path: Path, name: str) -> None:
    with pytest.raises(ProfileError) as exc:
        load_profile(_profile(tmp_path, name))
    text = str(exc.value)
    assert "backup.password.vault" in text and name in text and "site.yml:" in text


def _encrypted(tmp_path: Path, body: str) -> tuple[Path, Path]:
    from ansible.parsing.vault import VaultLib, VaultSecret

    pw = tmp_path / "vault-pass"
    pw.write_text("correct horse\n")
    vault = tmp_path / "secrets" / "vault.yml"
    vault.write_bytes(VaultLib([("site", VaultSecret(b"correct horse"))]).encrypt(body))
    return vault, pw


def _plan(tmp_path: Path) -> SimpleNamespace:
    profile = load_profile(_profile(tmp_path))
    return SimpleNamespace(profile=profile, secret_env={})


@pytest.mark.parametrize("extra", [
    "esms_firewall_ruleset_override: flush ruleset\n",
    "ansible_ssh_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null\n",
    "unused_thing: x\n",
])
def test_the_run_refuses_a_vault_file_with_other_variables(tmp_path: Path, extra: str) -> None:
    plan = _plan(tmp_path)
    _, pw = _encrypted(tmp_path, "pw_mdupont: a\nbackup_password: b\n" + extra)
    with pytest.raises(RunError) as exc, _secret_material(plan, pw):  # type: ignore[arg-type]
        pass
    assert extra.split(":")[0] in str(exc.value)


def test_the_run_accepts_the_profile_secrets_only(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    vault, pw = _encrypted(tmp_path, "pw_mdupont: a\nbackup_password: b\n")
    with _secret_material(plan, pw) as args:  # type: ignore[arg-type]
        assert f"@{vault}" in args


def test_a_wrong_vault_password_is_a_clear_error(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    _, pw = _encrypted(tmp_path, "pw_mdupont: a\n")
    pw.write_text("wrong\n")
    with pytest.raises(RunError, match="cannot read the vault file"), \
            _secret_material(plan, pw):  # type: ignore[arg-type]
        pass
