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


def _ssh_g(argv: list[str]) -> dict[str, str]:
    import subprocess

    out = subprocess.run(["ssh", "-G", *argv], capture_output=True, text=True, check=True,
                         stdin=subprocess.DEVNULL).stdout
    return dict(ln.split(" ", 1) if " " in ln else (ln, "") for ln in out.splitlines())


def test_no_other_source_of_keys_than_the_site_files(tmp_path: Path) -> None:
    """An inventory (or the control machine) naming a global known_hosts file, a
    KnownHostsCommand (which may print any key) or DNS (SSHFP) records cannot make a key
    count as known: the enforced options come first and name the site's files only."""
    inv = ["-o", "GlobalKnownHostsFile=/etc/ssh/ssh_known_hosts",
           "-o", "KnownHostsCommand=/bin/echo h1 %K", "-o", "VerifyHostKeyDNS=yes"]
    ep = hostkeys.resolve("h1", inv, "h1", tmp_path / "site")
    conf = _ssh_g([*shlex.split(hostkeys.ansible_ssh_args(ep)), *inv, "h1"])
    assert conf["globalknownhostsfile"] == "/dev/null"
    assert "knownhostscommand" not in conf
    assert conf["verifyhostkeydns"] == "false"
    assert conf["userknownhostsfile"] == str(tmp_path / "site")


def test_an_inventory_own_global_file_counts_as_its_own(tmp_path: Path) -> None:
    own = tmp_path / "msp_known_hosts"
    ep = hostkeys.resolve("h1", ["-o", f"GlobalKnownHostsFile={own}"], "h1", tmp_path / "site")
    assert ep.known_hosts == (tmp_path / "site", own)


def _plan(tmp_path: Path, conn_vars: str, host_vars_file: str | None = None) -> object:
    """A connection inventory (host behind ``ProxyCommand false``: ssh starts, no packet is
    sent anywhere, the host is unreachable and stays in the run) and a site inventory."""
    from types import SimpleNamespace

    conn = tmp_path / "conn"
    (conn / "host_vars").mkdir(parents=True)
    (conn / "hosts.yml").write_text(
        "all:\n  hosts:\n    h1:\n      ansible_ssh_common_args: '-o ProxyCommand=false'\n"
        + conn_vars)
    if host_vars_file is not None:
        (conn / "host_vars" / "h1.yml").write_text(host_vars_file)
    run = tmp_path / "run" / "inventory"
    run.mkdir(parents=True)
    (run / "site.yml").write_text("all:\n  hosts:\n    h1: {}\n")
    return SimpleNamespace(profile=SimpleNamespace(site=SimpleNamespace(name="S")),
                           inventory_sources=(conn / "hosts.yml",), host_names=("h1",)), \
        run / "site.yml"


def test_a_host_vars_file_cannot_replace_the_enforced_ssh_args(tmp_path: Path) -> None:
    """An inventory's host_vars/<host>.yml has a higher precedence than the host variables of
    the run's own inventory file: its ansible_ssh_args would replace the enforced options
    (StrictHostKeyChecking=no reaching Ansible). The host is left out."""
    from esms_baseline.run_hosts import verify_host_keys

    plan, site_inv = _plan(tmp_path, "", 'ansible_ssh_args: "-o StrictHostKeyChecking=no '
                           '-o UserKnownHostsFile=/dev/null"\n')
    refused, _ = verify_host_keys(plan, site_inv, tmp_path / "state", False)  # type: ignore[arg-type]
    assert "h1" in refused and "ansible_ssh_args" in refused["h1"]


def test_ssh_args_in_the_inventory_file_are_kept_after_ours(tmp_path: Path) -> None:
    from esms_baseline.run_hosts import verify_host_keys

    plan, site_inv = _plan(tmp_path, "      ansible_ssh_args: '-o StrictHostKeyChecking=no'\n")
    refused, path = verify_host_keys(plan, site_inv, tmp_path / "state", False)  # type: ignore[arg-type]
    assert refused == {} and path is not None
    assert "StrictHostKeyChecking=yes" in path.read_text()


def test_a_paramiko_connection_is_refused(tmp_path: Path) -> None:
    """Ansible's paramiko connection ignores ansible_ssh_args (testinfra's accepts any key)."""
    from esms_baseline.run_hosts import verify_host_keys

    plan, site_inv = _plan(tmp_path, "      ansible_connection: paramiko_ssh\n")
    refused, _ = verify_host_keys(plan, site_inv, tmp_path / "state", False)  # type: ignore[arg-type]
    assert "h1" in refused and "paramiko_ssh" in refused["h1"]


def test_the_check_never_reuses_a_control_master_the_inventory_names(tmp_path: Path) -> None:
    """An inventory's ControlPath (ansible_ssh_common_args) came before the check's
    ``ControlPath=none``: ssh would have run the check over a master opened earlier by any
    ssh/ansible command, maybe without host key verification. The check's ssh command, as
    testinfra builds it, read back with ``ssh -G``."""
    from esms_baseline.conformance.collectors import testinfra_host

    inv = tmp_path / "inventory.yml"
    inv.write_text("all:\n  hosts:\n    h1:\n      ansible_host: h1.example.invalid\n"
                   f"      ansible_ssh_common_args: '-o ControlMaster=auto -o "
                   f"ControlPath={tmp_path}/cp-%C'\n")
    host = testinfra_host(f"ansible://h1?ansible_inventory={inv}", "-o StrictHostKeyChecking=yes")
    cmd, args = host.backend._build_ssh_command("true")
    argv = shlex.split(" ".join(cmd) % tuple(shlex.quote(str(a)) for a in args))
    conf = _ssh_g(argv[1:-1])
    assert "controlpath" not in conf and conf["controlmaster"] == "false"  # none: not printed
    assert conf["stricthostkeychecking"] == "true"


def test_a_refused_host_is_out_of_the_run_whatever_the_limit_words_match(tmp_path: Path) -> None:
    """A limit word is an Ansible pattern: a planned host named like a group of the
    connection inventory (or ``all``) took in the group's hosts, the refused one included.
    Ansible's own reading of the limit (``ansible-playbook --list-hosts``)."""
    import subprocess
    import sys

    from esms_baseline.run_hosts import run_limit, write_run_group

    inv = tmp_path / "inventory.yml"
    inv.write_text("all:\n  children:\n    web:\n      hosts:\n        web1: {}\n        web2: {}\n"
                   "        web3: {}\n")
    play = tmp_path / "play.yml"
    play.write_text("- hosts: all\n  gather_facts: false\n  tasks: []\n")
    exe = Path(sys.executable).parent / "ansible-playbook"
    for words in (["web", "web1"], ["all", "web1"]):
        # web2 refused; web3 is not a planned host (never verified)
        group = write_run_group(tmp_path, [w for w in words if w != "all"])
        limit = run_limit(words, {"web2": "changed key"})
        out = subprocess.run([str(exe), "-i", str(inv), "-i", str(group), str(play),
                              "--list-hosts", "--limit", limit],
                             capture_output=True, text=True, check=True).stdout
        assert "web2" not in out and "web3" not in out and "web1" in out, (limit, out)
