"""Host key plumbing without a host: ssh's own reading of the settings (``ssh -G`` does not
connect), the options forced on every connection, the site file."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from esms_baseline import hostkeys


def _config(tmp_path: Path, extra: str = "") -> Path:
    cfg = tmp_path / "ssh_config"
    cfg.write_text(f"Host h1\n    HostName h1.example.invalid\n    Port 2222\n{extra}")
    return cfg


def test_resolve_reads_lookup_name_and_the_inventory_own_known_hosts(tmp_path: Path) -> None:
    own = tmp_path / "own_known_hosts"
    cfg = _config(tmp_path, f"    UserKnownHostsFile {own}\n")
    site = tmp_path / "site"
    ep = hostkeys.resolve("h1", ["-F", str(cfg)], "h1", site)
    assert ep.lookup == "[h1.example.invalid]:2222"
    assert ep.known_hosts == (site, own)  # the site's first: new keys go there


def test_resolve_ignores_dev_null_and_the_user_default(tmp_path: Path) -> None:
    cfg = _config(tmp_path, "    UserKnownHostsFile /dev/null\n")
    ep = hostkeys.resolve("h1", ["-F", str(cfg)], "h1", tmp_path / "site")
    assert ep.known_hosts == (tmp_path / "site",)
    ep = hostkeys.resolve("h1", ["-F", str(_config(tmp_path))], "h1", tmp_path / "site")
    assert ep.known_hosts == (tmp_path / "site",)


def test_hostkeyalias_is_the_lookup_name(tmp_path: Path) -> None:
    cfg = _config(tmp_path, "    HostKeyAlias serveur-dui\n")
    assert hostkeys.resolve("h1", ["-F", str(cfg)], "h1", tmp_path / "s").lookup == "serveur-dui"


def test_enforced_options_come_first_and_win_over_the_inventory(tmp_path: Path) -> None:
    """ssh keeps the first value: an inventory's StrictHostKeyChecking=no comes too late."""
    import subprocess

    cfg = _config(tmp_path, "    StrictHostKeyChecking no\n    UserKnownHostsFile /dev/null\n")
    args = ["-F", str(cfg), "-o", "StrictHostKeyChecking=no"]
    ep = hostkeys.resolve("h1", args, "h1", tmp_path / "my site")
    line = hostkeys.ansible_ssh_args(ep)
    argv = ["ssh", "-G", *shlex.split(line), *args, "h1"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    conf = dict(ln.split(" ", 1) for ln in out.splitlines())
    assert conf["stricthostkeychecking"] == "true"
    assert conf["userknownhostsfile"] == str(tmp_path / "my site")  # one path, with its space
    assert line.endswith(hostkeys.ANSIBLE_DEFAULT_SSH_ARGS)


def test_a_path_with_a_quote_or_newline_is_refused(tmp_path: Path) -> None:
    ep = hostkeys.Endpoint("h", (), "h", (tmp_path / 'a"b',), "h")
    with pytest.raises(hostkeys.HostKeyError):
        ep.enforced_options()
    ep = hostkeys.Endpoint("h", (), "h", (tmp_path / "a\nStrictHostKeyChecking no",), "h")
    with pytest.raises(hostkeys.HostKeyError):
        ep.enforced_options()


def test_hostvars_become_ssh_arguments() -> None:
    args, dest = hostkeys.ssh_args_from_hostvars("web", {
        "ansible_host": "10.0.0.5", "ansible_port": 2200, "ansible_user": "esms-admin",
        "ansible_ssh_common_args": "-o ProxyJump=bastion", "ansible_ssh_private_key_file": "/k"})
    assert dest == "10.0.0.5"
    assert args == ["-o", "ProxyJump=bastion", "-o", "User=esms-admin", "-o", "Port=2200",
                    "-i", "/k"]
    assert not hostkeys.is_ssh_host({"ansible_connection": "winrm"})


def test_site_file_is_per_site_in_a_private_folder(tmp_path: Path) -> None:
    path = hostkeys.site_known_hosts("EHPAD Les Tilleuls", tmp_path)
    assert path == tmp_path / "known_hosts" / "ehpad-les-tilleuls"
    assert path.parent.stat().st_mode & 0o777 == 0o700


def test_record_is_private_and_replace_drops_the_old_key(tmp_path: Path) -> None:
    site = tmp_path / "kh"
    ep = hostkeys.Endpoint("h", (), "h", (site,), "h.example")
    old = "h.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDVTAbE/jaTQwd4N5hlsGO1a8Q8PsrFg5yaabpi+H6yU"
    new = "h.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMvu0Ba9+dmNoB0UWeFBsBbq3Ft7L9CH9B0Hv7A7Yxb"
    hostkeys.record(ep, [hostkeys.PresentedKey(old, hostkeys.fingerprint(old), "ssh-ed25519")])
    hostkeys.record(ep, [hostkeys.PresentedKey(old, "x", "ssh-ed25519")])  # no duplicate
    assert site.read_text() == old + "\n" and site.stat().st_mode & 0o777 == 0o600
    assert hostkeys.known_entries(ep) == [old]
    hostkeys.record(ep, [hostkeys.PresentedKey(new, "x", "ssh-ed25519")], replace=True)
    assert hostkeys.known_entries(ep) == [new]
    assert hostkeys.fingerprint(old).startswith("SHA256:")
