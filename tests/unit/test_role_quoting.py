"""Issue #10, layer 2: every template or task that writes a value into a syntax quotes it
for that syntax or refuses it, whatever the caller (library user, host variables) passes.

The roles' real templates and task arguments are rendered with Ansible's real templar
(tests/unit/ansible_render.py); each generated file is then read back by the program that
reads it on a host, or the closest one on this machine: bash for the systemd environment
file's double quotes, ``ssh -G`` for ssh_config, ``nft -c`` (in a network namespace of its
own) for nftables, ``apt-config`` for apt.conf. The lab test (tests/integration/
test_trust_lab.py) reads them back with sshd and systemd themselves.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from esms_baseline.conformance.collectors.debian import _env_file
from esms_baseline.schedule import ScheduleError, ScheduleSpec, render_units
from tests.unit.ansible_render import ROLES, condition, render, render_text, task

#: Values that must be refused wherever they would be written into a line-based syntax.
REFUSED = ["2026\nPasswordAuthentication yes", "2026\r\nPermitEmptyPasswords yes",
           "2026\u2028Match all", "2026\x1b[2J", "2026\x00", "x" * 5000, ["list"], {"a": 1}]
#: Printable values a syntax must carry inertly (quoted or in a comment).
INERT = ['2026 "01"', "2026\\01", "$(id)", "`id`", "%h %n ${HOME}", "}; flush ruleset",
         "'; rm -rf / #"]


def _refused(fn: Any) -> str:
    from ansible.errors import AnsibleError

    with pytest.raises(AnsibleError) as info:
        fn()
    return str(info.value)


# ------------------------------------------------------------------ sshd_config, /etc/issue

BANNER_DROPIN = "esms_banner/templates/etc/ssh/sshd_config.d/05-esms-banner.conf.j2"


@pytest.mark.parametrize("value", REFUSED, ids=repr)
def test_sshd_banner_dropin_refuses(value: Any) -> None:
    msg = _refused(lambda: render(BANNER_DROPIN, {"esms_banner_charter_version": value}))
    assert "esms_banner_charter_version" in msg


@pytest.mark.parametrize("value", INERT)
def test_sshd_banner_dropin_keeps_printable_values_in_the_comment(value: str) -> None:
    out = render(BANNER_DROPIN, {"esms_banner_charter_version": value})
    directives = [ln for ln in out.splitlines() if ln.strip() and not ln.startswith("#")]
    assert directives == ["Banner /etc/issue.net"]
    assert value.strip() in out


def test_issue_encodes_the_multiline_text() -> None:
    v = {"esms_banner_charter_version": "2026\\01", "esms_banner_text": "Ligne \\l\n\tsuite"}
    console = render("esms_banner/templates/etc/issue.j2", {**v, "esms_banner_console": True})
    assert "version 2026\\\\01" in console and "Ligne \\\\l" in console
    net = render("esms_banner/templates/etc/issue.j2", {**v, "esms_banner_console": False})
    assert "Ligne \\l" in net
    for text in ("Ligne\x1b]0;titre\x07", "x" * 9000, 12.5):
        msg = _refused(lambda t=text: render("esms_banner/templates/etc/issue.j2",  # type: ignore[misc]
                                             {**v, "esms_banner_text": t,
                                              "esms_banner_console": True}))
        assert "esms_banner_text" in msg
    _refused(lambda: render("esms_banner/templates/etc/issue.j2",
                            {**v, "esms_banner_charter_version": "1\n\\e", "esms_banner_console": True}))


# ------------------------------------------------------------------ systemd environment file

BACKUP_ENV = "esms_backup/templates/etc/esms-baseline/backup.env.j2"
_BACKUP = {"inventory_hostname": "lab-01", "esms_backup_canary_path": "/var/lib/esms-baseline/canary",
           "esms_backup_retention_daily": 7, "esms_backup_retention_weekly": 4,
           "esms_backup_retention_monthly": 12}


@pytest.mark.parametrize("repo", [*INERT, "s3:https://s3.example/b?x=1&y=\"2\"",
                                  "sftp:store@backup.example:/dépôt"])
def test_backup_env_quotes_the_repository(repo: str, tmp_path: Path) -> None:
    out = render(BACKUP_ENV, {**_BACKUP, "esms_backup_repository": repo})
    assert _env_file(out)["RESTIC_REPOSITORY"] == repo  # the conformance check's reader
    # bash reads POSIX double quotes as systemd.exec(5) says EnvironmentFile= does
    f = tmp_path / "backup.env"
    f.write_text(out)
    proc = subprocess.run(["bash", "-c", 'set -a; . "$1"; printf %s "$RESTIC_REPOSITORY"', "sh",
                           str(f)], capture_output=True, text=True, env={}, check=True)
    assert proc.stdout == repo and proc.stderr == ""


@pytest.mark.parametrize("value", REFUSED, ids=repr)
def test_backup_env_refuses(value: Any) -> None:
    assert "esms_backup_repository" in _refused(
        lambda: render(BACKUP_ENV, {**_BACKUP, "esms_backup_repository": value}))
    _refused(lambda: render(BACKUP_ENV, {**_BACKUP, "esms_backup_repository": "r",
                                         "inventory_hostname": value}))


def test_backup_paths_one_absolute_path_per_line() -> None:
    tpl = "esms_backup/templates/etc/esms-baseline/backup-paths.j2"
    v = {"esms_backup_canary_path": "/var/lib/esms-baseline/canary"}
    out = render(tpl, {**v, "esms_backup_paths": ["/srv/dui", "/home/a b"]})
    assert out.splitlines()[-3:] == ["/srv/dui", "/home/a b", "/var/lib/esms-baseline/canary"]
    for bad in (["/srv\n/etc/shadow"], ["etc"], [["/x"]]):
        assert "esms_backup_paths" in _refused(lambda b=bad: render(  # type: ignore[misc]
            tpl, {**v, "esms_backup_paths": b}))


# ------------------------------------------------------------------ systemd timers

@pytest.mark.parametrize("tpl,var", [
    ("esms_backup/templates/etc/systemd/system/esms-backup.timer.j2", "esms_backup_schedule"),
    ("esms_antivirus/templates/etc/systemd/system/esms-clamscan.timer.j2", "esms_antivirus_scan_time"),
])
def test_timers_take_a_time_only(tpl: str, var: str) -> None:
    assert "OnCalendar=*-*-* 01:30:00" in render(tpl, {var: "01:30", "esms_antivirus_scan": "x"})
    for bad in ("01:30\nExecStartPre=/bin/id", "01:30:00 %n", "*-*-*", "1:30"):
        assert var in _refused(lambda b=bad: render(tpl, {var: b}))  # type: ignore[misc]


def test_time_asserts_are_anchored_at_the_end() -> None:
    """`is match('^..$')` (the old assert) lets a trailing line break through; the new one not."""
    hostile = {"t": "01:30\n"}
    assert condition("t is match('^([01][0-9]|2[0-3]):[0-5][0-9]$')", hostile)
    for task_file, name, var in [
        ("esms_backup/tasks/debian/ESMS-BAK-01.yml", "ESMS-BAK-01 | Check the backup variables",
         "esms_backup_schedule"),
        ("esms_updates/tasks/debian/ESMS-UPD-02.yml", "ESMS-UPD-02 | Check the maintenance window",
         "esms_updates_window_start"),
    ]:
        (expr,) = [c for c in task(task_file, name)["ansible.builtin.assert"]["that"] if var in c]
        assert condition(expr, {var: "01:30"}) and not condition(expr, {var: "01:30\n"})


def test_updates_calendar_refuses_a_hostile_start() -> None:
    calendar = yaml.safe_load((ROLES / "esms_updates/vars/main.yml").read_text())["esms_updates_calendar"]
    v = {"esms_updates_window_days": ["sun"]}
    assert render_text(calendar, {**v, "esms_updates_window_start": "03:00"}) == "Sun *-*-* 03:00:00"
    _refused(lambda: render_text(calendar, {**v, "esms_updates_window_start": "03:00\nPersistent=true"}))


# ------------------------------------------------------------------ ssh_config (backup store)

BAK01 = "esms_backup/tasks/debian/ESMS-BAK-01.yml"


def _sftp(repo: Any) -> Any:
    expr = task(BAK01, "ESMS-BAK-01 | Read the repository host of an sftp repository")
    return render_text(expr["ansible.builtin.set_fact"]["esms_backup_sftp"],
                       {"esms_backup_repository": repo})


@pytest.mark.parametrize("repo", ["sftp:-oProxyCommand=id:/x", "sftp:u@-oProxyCommand=id:/x",
                                  "sftp:u@h:/x\nProxyCommand id", "sftp:u@h\tProxyCommand=id:/x",
                                  "sftp:u@h h:/x", "sftp://u@h:22;id//x", 'sftp:"u"@h:/x'])
def test_ssh_config_refuses_what_it_cannot_take_unquoted(repo: str) -> None:
    assert "esms_backup_repository" in _refused(lambda: _sftp(repo))


def _ssh_block(proxy: Any, known: Any = ()) -> str:
    t = task(BAK01, "ESMS-BAK-01 | Configure SSH to the repository host")
    v = {"esms_backup_sftp": _sftp("sftp://store@backup.example:2222//depot"),
         "esms_backup_ssh_key_path": "/root/.ssh/id_esms_backup",
         "esms_backup_ssh_known_hosts": list(known), "esms_backup_ssh_proxy_command": proxy,
         # the block's own variable: the inventory's known_hosts lines plus the pinned key
         "esms_backup_store_known_lines": list(known)}
    return str(render_text(t["ansible.builtin.blockinfile"]["block"], v))


def test_ssh_config_as_ssh_reads_it(tmp_path: Path) -> None:
    proxy = "nsenter -t 4242 -n socat - UNIX-CONNECT:/run/esms/relay.sock"
    f = tmp_path / "config"
    f.write_text(_ssh_block(proxy, ["backup.example ssh-ed25519 AAAA"]))
    proc = subprocess.run(["ssh", "-G", "-F", str(f), "backup.example"], capture_output=True,
                          text=True, check=True)
    opts = dict(ln.split(" ", 1) for ln in proc.stdout.splitlines() if " " in ln)
    assert (opts["user"], opts["port"], opts["proxycommand"]) == ("store", "2222", proxy)
    assert opts["stricthostkeychecking"] == "true"
    for bad in ("nc %h 22\nHost *\n  ProxyCommand id", "x\r\nPermitLocalCommand yes", ["a"]):
        assert "esms_backup_ssh_proxy_command" in _refused(lambda b=bad: _ssh_block(b))  # type: ignore[misc]


def test_known_hosts_one_line_per_key() -> None:
    t = task(BAK01, "ESMS-BAK-01 | Record the off-site store's host keys")

    def content(keys: list[str]) -> Any:
        lines = render_text(t["vars"]["esms_backup_known_lines"], {"esms_backup_store_known_lines": keys})
        return render_text(t["ansible.builtin.copy"]["content"], {"esms_backup_known_lines": lines})

    assert content(["h ssh-ed25519 AAAA", "g ssh-rsa B"]) == "h ssh-ed25519 AAAA\ng ssh-rsa B\n"
    assert content([]) == ""
    _refused(lambda: content(["h k\n* ssh-rsa X"]))


# ------------------------------------------------------------------ nftables

NFT = "esms_firewall/templates/etc/nftables.conf.j2"
_FW = {"esms_firewall_ruleset_override": "", "esms_excepted_controls": [],
       "esms_firewall_management_sources": ["203.0.113.0/24", "2001:db8::/32"],
       "esms_firewall_management_ports": [22],
       "esms_firewall_allowed_services": [{"name": "dui web", "port": 443, "protocol": "tcp",
                                           "sources": ["192.0.2.0/24"]}]}


def test_nftables_valid_ruleset_parses(tmp_path: Path) -> None:
    f = tmp_path / "nftables.conf"
    f.write_text(render(NFT, _FW))
    if not shutil.which("nft") or not shutil.which("unshare"):
        pytest.skip("nft or unshare missing")
    # -c: parse and check only, in a network namespace made for it (never this machine's)
    proc = subprocess.run(["unshare", "--net", "nft", "-c", "-f", str(f)], capture_output=True,
                          text=True, check=False)
    if "Operation not permitted" in proc.stderr:
        pytest.skip("needs root for a network namespace")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("key,value", [
    ("esms_firewall_management_sources", ["0.0.0.0/0 } accept; flush ruleset; {"]),
    ("esms_firewall_management_sources", ["203.0.113.0/24\n\t\ttcp dport 1-65535 accept"]),
    ("esms_firewall_management_sources", ["all"]),
    ("esms_firewall_management_ports", ["22 } accept"]),
    ("esms_firewall_management_ports", [0]),
    ("esms_firewall_allowed_services", [{"name": "x", "port": "443; accept", "protocol": "tcp", "sources": []}]),
    ("esms_firewall_allowed_services", [{"name": "x", "port": 443, "protocol": "tcp dport 1-65535 accept #", "sources": []}]),
    ("esms_firewall_allowed_services", [{"name": "x", "port": 443, "protocol": "udp", "sources": ["10.0.0.0/8;"]}]),
])
def test_nftables_refuses(key: str, value: Any) -> None:
    assert key in _refused(lambda: render(NFT, {**_FW, key: value}))


def test_nftables_service_name_is_inert() -> None:
    svc = {"name": 'x" accept; flush ruleset #', "port": 443, "protocol": "tcp", "sources": []}
    out = render(NFT, {**_FW, "esms_firewall_allowed_services": [svc]})
    assert 'comment "ESMS-FW-02 x__accept__flush_ruleset__"' in out


# ------------------------------------------------------------------ apt.conf

def test_apt_conf_as_apt_reads_it(tmp_path: Path) -> None:
    tpl = "esms_updates/templates/etc/apt/apt.conf.d/53esms-unattended-reboot.j2"
    v = {"esms_updates_reboot": "in_window", "esms_updates_window_start": "03:00"}
    f = tmp_path / "53esms"
    f.write_text(render(tpl, v))
    if not shutil.which("apt-config"):
        pytest.skip("apt-config missing")
    out = subprocess.run(["apt-config", "-c", str(f), "dump", "Unattended-Upgrade"],
                         capture_output=True, text=True, check=True).stdout
    assert 'Unattended-Upgrade::Automatic-Reboot "true";' in out
    hostile = '03:00\nUnattended-Upgrade::Remove-Unused-Dependencies "true";'
    assert "esms_updates_window_start" in _refused(
        lambda: render(tpl, {**v, "esms_updates_window_start": hostile}))


# ------------------------------------------------------------------ shell (profile.d), integers

def test_profile_d_tmout_is_an_integer(tmp_path: Path) -> None:
    f = tmp_path / "esms-tmout.sh"
    f.write_text(render("esms_session_lock/templates/etc/profile.d/esms-tmout.sh.j2",
                        {"esms_session_lock_idle_minutes": 15}))
    proc = subprocess.run(["bash", "-c", '. "$1"; printf %s "$TMOUT"', "sh", str(f)],
                          capture_output=True, text=True, check=True)
    assert proc.stdout == "900"


@pytest.mark.parametrize("role,var", [
    ("esms_session_lock", "esms_session_lock_idle_minutes"),
    ("esms_session_lock", "esms_session_lock_ssh_alive_count_max"),
    ("esms_passwords", "esms_passwords_lockout_threshold"),
])
def test_integer_role_variables_refuse_text(role: str, var: str) -> None:
    """Integers reach shell, sshd_config, logind and PAM files: the role's argument spec
    (validated by Ansible when the role starts) refuses text that is not a number."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    spec = yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())
    options = spec["argument_specs"]["main"]["options"]
    result = ArgumentSpecValidator({var: options[var]}).validate({var: "5; touch /tmp/pwned"})
    assert result.error_messages and var in result.error_messages[0]


# ------------------------------------------------------------------ the drift unit (control machine)

@pytest.mark.parametrize("site", ["EHPAD\nExecStartPre=/bin/sh -c id", "EHPAD\rX", "EHPAD\u2028X"])
def test_drift_unit_refuses_a_hostile_site_name(site: str) -> None:
    with pytest.raises(ScheduleError, match="the site"):
        render_units(ScheduleSpec(site=site, profile=Path("/etc/esms/site.yml")))


def test_drift_unit_escapes_specifiers() -> None:
    units = render_units(ScheduleSpec(site="EHPAD 100% %n $(id)", profile=Path("/etc/p%h.yml")))
    service = units["esms-baseline-drift-ehpad-100-n-id.service"]
    assert "Description=esms-baseline nightly drift check of EHPAD 100%% %%n $(id)" in service
    assert "/etc/p%%h.yml" in service
    with pytest.raises(ScheduleError):
        render_units(ScheduleSpec(site="x", profile=Path("/etc/p\n.yml")))
    with pytest.raises(ScheduleError):
        render_units(ScheduleSpec(site="x", profile=Path("/p.yml"), user="root\nUser=x"))


# ------------------------------------------------------------------ accounts (pre-flight)

def test_preflight_refuses_account_names_that_change_system_files() -> None:
    play = yaml.safe_load((ROLES.parent / "playbooks" / "site.yml").read_text())[0]
    t = next(x for x in play["tasks"] if "cannot change the meaning" in x.get("name", ""))
    good = {"esms_management_user": "esms-admin", "esms_accounts_admins": ["mdupont"],
            "esms_accounts_forbidden_generic_logins": ["accueil"],
            "esms_accounts_users": [{"login": "mdupont", "full_name": "Marie Dupont"}]}

    def passes(v: dict[str, Any]) -> bool:
        variables = {**v, **{k: render_text(e, v) for k, e in t["vars"].items()}}
        return all(condition(c, variables) for c in t["ansible.builtin.assert"]["that"])

    assert passes(good)
    assert not passes({**good, "esms_management_user": "esms-admin\n"})
    assert not passes({**good, "esms_accounts_admins": ["mdupont\n"]})
    assert not passes({**good, "esms_accounts_users": [{"login": "x", "full_name": "a:0:0"}]})
    assert not passes({**good, "esms_accounts_users": [{"login": "x", "full_name": "a\nb"}]})


def test_firewall_source_asserts_are_anchored_at_the_end() -> None:
    t = task("esms_firewall/tasks/debian/ESMS-FW-03.yml",
             "ESMS-FW-03 | Check the management ports and sources")
    (expr,) = [c for c in t["ansible.builtin.assert"]["that"] if "sources" in c]
    assert condition(expr, {"esms_firewall_management_sources": ["203.0.113.0/24"]})
    assert not condition(expr, {"esms_firewall_management_sources": ["203.0.113.0/24\n"]})


def test_drift_unit_refuses_a_final_backslash() -> None:
    """A unit line ending with a backslash continues onto the next line (systemd.syntax(7);
    seen with systemd-analyze verify: the next directive vanished into Description=)."""
    with pytest.raises(ScheduleError, match="backslash"):
        render_units(ScheduleSpec(site="EHPAD \\", profile=Path("/etc/esms/site.yml")))
    with pytest.raises(ScheduleError, match="backslash"):
        render_units(ScheduleSpec(site="x", profile=Path("/p.yml"), env_file=Path("/e\\")))
    units = render_units(ScheduleSpec(site="a \\ b", profile=Path("/p.yml")))
    assert any("of a \\ b" in t for t in units.values())  # inside the line: kept


def test_drift_unit_environment_keeps_a_dollar() -> None:
    """Environment= does not expand $ (systemd.exec(5)): doubling it changed the path."""
    units = render_units(ScheduleSpec(site="x", profile=Path("/p.yml"),
                                      history=Path("/var/lib/h $x%.sqlite")))
    service = next(t for n, t in units.items() if n.endswith(".service"))
    assert 'Environment="ESMS_HISTORY=/var/lib/h $x%%.sqlite"' in service
