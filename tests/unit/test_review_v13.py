"""Review of the scanner over SSH, check --worker and the fleet run (v13): careless or hostile
values at the trust boundaries (inventory host names, the profile's site name, inventory
variables), each found failing first."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from esms_baseline.errors import ScannerError


def test_tailoring_refuses_a_name_xml_cannot_hold() -> None:
    """An inventory host name (not checked by validate) or a library caller's site name with
    a control character made an ill-formed tailoring (ElementTree writes it raw): oscap
    then failed with a parse error. Now: a ScannerError naming the text."""
    from esms_baseline.scanner.tailoring import TailoredProfile, tailoring_xml

    def xml(host: str, site: str) -> str:
        p = TailoredProfile(host, "xccdf_org.esms-baseline_profile_h", {"var_x": "1"}, ("r",), ())
        return tailoring_xml([p], site_name=site, base_profile_id="b",
                             now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))

    ok = xml("h1", "A & <B> ]]> \"q' é")  # escaped by ElementTree: well-formed
    titles = [e.text for e in ET.fromstring(ok.encode()).iter() if e.tag.endswith("title")]
    assert titles == ["ANSSI-BP-028 adapté au profil du site A & <B> ]]> \"q' é (h1)"]
    for host, site in (("h\x0b1", "Site"), ("h1", "Site\x00"), ("h1", "S\x01")):
        with pytest.raises(ScannerError, match="character XML cannot hold"):
            xml(host, site)


def test_worker_facts_of_a_host_named_like_a_path_stay_in_the_facts_dir(tmp_path: Path) -> None:
    """Ansible accepts an inventory host named ``../../x``: --facts-dir wrote its facts
    outside the folder. Now the name is one file name."""
    from esms_baseline.conformance.model import facts_file_name

    for name in ("../../evil", "a/b", "..", "web1", "a\\b", "x\x00y"):
        path = tmp_path / "facts" / facts_file_name(name)
        assert path.parent == tmp_path / "facts", name
        assert "/" not in facts_file_name(name) and "\x00" not in facts_file_name(name)
    assert facts_file_name("web1") == "web1.json"
    assert facts_file_name("a/b") != facts_file_name("a%2Fb")


def test_a_nested_secret_keeps_the_inventory_out_of_the_run_file() -> None:
    """``may_hold_secrets`` looked at the top-level host variable names only: a password
    under a dictionary (``db: {password: ...}``) or in a group's vars went into the run file."""
    from esms_baseline.conformance.fleet_run import may_hold_secrets

    def listing(hv: dict[str, Any]) -> str:
        return json.dumps({"_meta": {"hostvars": {"h1": hv}}, "all": {"children": []}})

    assert may_hold_secrets(listing({"db": {"password": "hunter2"}}))
    assert may_hold_secrets(listing({"svc": [{"api_token": "x"}]}))
    assert may_hold_secrets(json.dumps({"_meta": {"hostvars": {}},
                                        "grp": {"vars": {"smtp_pass": "x"}}}))
    assert not may_hold_secrets(listing({"ansible_host": "10.0.0.1", "tags": ["a"],
                                         "esms": {"port": 22}}))


def test_worker_inventory_cannot_switch_a_host_off_ssh(tmp_path: Path) -> None:
    """The worker's connection inventory said ``ansible_connection: local`` (the worker's own
    facts came back as the host's: a host passed that was never checked) or ``paramiko``
    with ``ansible_host_key_checking: false`` (no key verified, yet apply --worker sends the
    secrets). Such hosts are now refused before the job is sent (check and apply), and the
    check job pins ``ansible_connection: ssh`` above the inventory (real ansible-playbook)."""
    import shutil
    import subprocess
    import sys

    import yaml

    from esms_baseline.remote_check import build_check_job, connection_refusals

    conn = tmp_path / "worker-inventory.yml"
    conn.write_text(
        "all:\n  hosts:\n"
        "    h-local: {ansible_connection: local}\n"
        "    h-paramiko: {ansible_connection: paramiko, ansible_host_key_checking: false}\n"
        "    h-tmpl: {ansible_connection: '{{ c }}'}\n"
        "    h-ssh: {ansible_connection: ansible.builtin.ssh}\n"
        "    h-plain: {ansible_host: 192.0.2.9}\n"
        "  children:\n    g:\n      vars: {ansible_connection: local}\n"
        "      hosts: {h-group: {}}\n", encoding="utf-8")
    names = ["h-local", "h-paramiko", "h-tmpl", "h-ssh", "h-plain", "h-group", "h-absent"]
    refused = connection_refusals(conn, names)
    assert sorted(refused) == ["h-group", "h-local", "h-paramiko", "h-tmpl"]
    assert "ansible_connection" in refused["h-local"] and "local" in refused["h-local"]

    private = tmp_path / "job"
    private.mkdir()
    build_check_job(private, ["h-local"], "debian", connection_inventory=conn, known_hosts="")
    v = yaml.safe_load((private / "project" / "collect-vars.yml").read_text())
    assert v["ansible_connection"] == "ssh"
    # the job's play with its tasks replaced by a debug: the inventory's "local" loses
    play = yaml.safe_load((private / "project" / "collect.yml").read_text())
    play[0]["tasks"] = [{"ansible.builtin.debug": {"msg": "conn={{ ansible_connection }}"}}]
    play[0]["become"] = False
    (private / "project" / "probe.yml").write_text(yaml.safe_dump(play), encoding="utf-8")
    exe = shutil.which("ansible-playbook", path=str(Path(sys.executable).parent))
    assert exe
    out = subprocess.run([exe, "-i", str(private / "inventory"), str(private / "project" /
                          "probe.yml")], capture_output=True, text=True, check=False,
                         env={"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
                              "ANSIBLE_NOCOLOR": "1", "HOME": str(tmp_path)})
    assert "conn=ssh" in out.stdout, out.stdout + out.stderr


def test_apply_worker_sends_nothing_to_a_host_the_worker_reaches_without_ssh(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """apply --worker: hosts whose keys are known but that the worker inventory reaches by
    ``local``/``paramiko`` are left out (unreachable, with why); the job is not sent."""
    import ansible_runner

    from esms_baseline import hostkeys
    from esms_baseline.plan import build_plan
    from esms_baseline.profile import load_profile
    from esms_baseline.remote import Worker, apply_remote

    root = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("ESMS_STATE_DIR", str(tmp_path / "state"))
    plan = build_plan(load_profile(root / "examples" / "site.yml"))
    names = [h.name for h in plan.hosts]
    hostkeys.site_known_hosts(plan.profile.site.name).write_text(
        "".join(f"{n} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake{i}\n"
                for i, n in enumerate(names)), encoding="utf-8")
    conn = tmp_path / "worker-inventory.yml"
    conn.write_text("all:\n  vars: {ansible_connection: paramiko, ansible_host_key_checking: "
                    "false}\n  hosts:\n" + "".join(f"    {n}: {{}}\n" for n in names),
                    encoding="utf-8")

    def sent(**_: Any) -> None:
        raise AssertionError("the job was sent")

    monkeypatch.setattr(ansible_runner, "run", sent)
    (tmp_path / "wk").write_text("", encoding="utf-8")
    # ssh is /bin/false: nothing leaves this machine even when the job is (wrongly) sent
    worker = Worker(destination="nobody@worker.invalid", known_hosts=tmp_path / "wk",
                    ssh="/bin/false")
    from tests.conftest import random_secrets_in_env

    with random_secrets_in_env(plan.secret_env.values()):
        result = apply_remote(plan, worker, connection_inventory=conn,
                              artifacts_dir=tmp_path / "runs")
    assert sorted(h.host for h in result.hosts) == sorted(names)
    assert all(h.unreachable and "paramiko" in h.errors[0] for h in result.hosts)
    assert result.exit_code == 3


@pytest.mark.parametrize("scheme", ["ssh", "ansible"])
def test_two_sites_naming_one_host_alike_keep_their_own_known_hosts(
        tmp_path: Path, scheme: str) -> None:
    """A fleet run collects ``0|srv`` and ``1|srv`` with the same testinfra spec when the
    sites share an inventory (``--inventory``) or have no ssh config: testinfra caches the
    Host per spec, and testinfra_host prepended each site's verified known_hosts to that ONE
    backend: site A's host was then checked with site B's known_hosts (ssh keeps the first
    value), and the options grew at each call. Now each call gets its own backend."""
    from esms_baseline.conformance.collectors import testinfra_host

    if scheme == "ansible":
        inv = tmp_path / "inv.yml"
        inv.write_text("all:\n  hosts:\n    srv: {ansible_host: 192.0.2.7}\n", encoding="utf-8")
        spec = f"ansible://srv?ansible_inventory={inv}"
    else:
        spec = f"ssh://srv-{tmp_path.name}"
    a = testinfra_host(spec, "-o UserKnownHostsFile=/state/known_hosts/site-a")
    b = testinfra_host(spec, "-o UserKnownHostsFile=/state/known_hosts/site-b")
    assert a.backend is not b.backend
    assert a.backend.ssh_extra_args.startswith("-o UserKnownHostsFile=/state/known_hosts/site-a")
    assert "site-b" not in a.backend.ssh_extra_args
    assert b.backend.ssh_extra_args.startswith("-o UserKnownHostsFile=/state/known_hosts/site-b")
    assert "site-a" not in b.backend.ssh_extra_args


def test_worker_job_refuses_a_host_name_ssh_would_read_as_patterns_or_options(
        tmp_path: Path) -> None:
    """Ansible accepts inventory host names like ``x,web2``, ``web*`` or ``a -o
    ProxyCommand=...``. The worker job writes ``<name> <type> <key>`` into its known_hosts
    and passes ``-o HostKeyAlias=<name>`` in ansible_ssh_args (split by shell rules): the
    key of ``x,web2`` was accepted for ``web2`` (a comma lists hosts, ``*`` is a pattern), and
    a name with spaces added ssh options (ProxyCommand runs on the worker). Such a host now
    gets nothing; a plain name keeps its key."""
    from esms_baseline import hostkeys
    from esms_baseline.remote_check import known_hosts_for

    site = hostkeys.site_known_hosts("Site", tmp_path)
    bad = ["x,web2", "web*", "a -o ProxyCommand=touch%20/tmp/pwn", "!web2", "@revoked",
           "h[1]", "a\tb", "-oProxyCommand=x"]
    good = ["web2", "lab-01.example.org", "10.0.0.1"]
    site.write_text("".join(f"{n} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK{i}\n"
                            for i, n in enumerate(good)), encoding="utf-8")
    endpoints = {n: hostkeys.Endpoint(name=n, args=(), destination="192.0.2.1",
                                      known_hosts=(site,), lookup="web2") for n in bad}
    known, refused = known_hosts_for("Site", [*bad, *good], endpoints, tmp_path)
    assert sorted(refused) == sorted(bad)
    assert all("host name" in refused[n] for n in bad)
    assert [ln.split()[0] for ln in known.splitlines()] == good


def test_worker_job_keeps_the_refusal_of_a_site_inventory_endpoint(tmp_path: Path) -> None:
    """A host the site inventory connects to by paramiko (hostkeys.Endpoint.refusal: its key
    cannot be verified) had its key put in the worker job all the same."""
    from esms_baseline import hostkeys
    from esms_baseline.remote_check import known_hosts_for

    site = hostkeys.site_known_hosts("Site", tmp_path)
    site.write_text("web2 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0\n", encoding="utf-8")
    ep = hostkeys.Endpoint(name="web2", args=(), destination="web2", known_hosts=(site,),
                           lookup="web2", refusal="web2: paramiko connection, key not verified")
    known, refused = known_hosts_for("Site", ["web2"], {"web2": ep}, tmp_path)
    assert known == "" and refused == {"web2": "web2: paramiko connection, key not verified"}


def test_scanner_versions_from_a_host_are_short_single_line_text() -> None:
    """The versions come from the results XML the host sends back; they go into the history
    and every report. A hostile host's 1 MB ``test-system`` with line breaks was kept whole."""
    from esms_baseline.scanner.content import XCCDF_NS
    from esms_baseline.scanner.record import scanner_versions

    huge = "cpe:/a:redhat:openscap:1.3.7\n## injected" + "x" * 1_000_000
    doc = (f'<Benchmark xmlns="{XCCDF_NS}"><version>0.1.76\n# title{"y" * 5000}</version>'
           f'<TestResult test-system="{huge}"/></Benchmark>')
    scanner, content = scanner_versions(doc)
    assert len(scanner) <= 120 and len(content) <= 120
    assert "\n" not in scanner + content
    assert scanner.startswith("OpenSCAP") and content.startswith("0.1.76")
    ok = (f'<Benchmark xmlns="{XCCDF_NS}"><version>0.1.76</version>'
          '<TestResult test-system="cpe:/a:redhat:openscap:1.3.7"/></Benchmark>')
    assert scanner_versions(ok) == ("OpenSCAP 1.3.7", "0.1.76")


def test_fleet_a_host_refused_in_one_site_is_not_in_the_run_and_a_failing_site_stops_none(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Site 0 refuses ``pc`` (its key), site 1 (same host name) does not, site 2 cannot be
    prepared: the one run holds ``1|pc`` only; site 0's rows of pc say why; site 2 gets
    its error; site 1 its results."""
    import esms_baseline.conformance.fleet_run as fr
    from esms_baseline.conformance import CheckPlan, CheckTarget
    from esms_baseline.errors import EsmsError, PlanError
    from esms_baseline.results import ControlResult, Verdict

    plans = [CheckPlan(f"S{i}", (CheckTarget("pc", "debian", "ssh://pc"),)) for i in range(3)]

    def verify(plan: CheckPlan, **_: Any) -> tuple[CheckPlan, dict[str, str], dict[str, Any]]:
        if plan.site_name == "S2":
            raise PlanError("S2: inventory unreadable")
        return plan, ({"pc": "key of pc changed"} if plan.site_name == "S0" else {}), {}

    ran: list[list[str]] = []

    def suite(merged: CheckPlan, controls: list[str], *_: Any, **__: Any) -> dict[str, Any]:
        ran.append([h.name for h in merged.hosts])
        return {"results": [ControlResult(h.name, c, Verdict.PASS)
                            for h in merged.hosts for c in controls], "details": {}}

    monkeypatch.setattr(fr, "verify_host_keys", verify)
    monkeypatch.setattr(fr, "_run_suite", suite)
    r0, r1, r2 = fr.check_many(plans, controls=["ESMS-LOCK-01"])
    assert ran == [["1|pc"]]
    assert not isinstance(r0, EsmsError) and not isinstance(r1, EsmsError)
    assert [(r.host, r.verdict, r.message) for r in r0.results] == [
        ("pc", Verdict.UNREACHABLE, "key of pc changed")]
    assert [(r.host, r.verdict) for r in r1.results] == [("pc", Verdict.PASS)]
    assert isinstance(r2, PlanError)


def test_scan_command_keeps_hostile_names_and_paths_as_words(tmp_path: Path) -> None:
    """The command ssh runs for ``scan``, run here by sh: a host name and a datastream path
    full of shell syntax execute nothing; the path reaches the script as one word (refused
    as absent, exit 99) — or sudo refuses first when not root."""
    import os
    import subprocess

    from esms_baseline.scanner.remote import remote_command

    mark = tmp_path / "pwned"
    evil = f"x'; touch {mark}; echo '$(touch {mark})`touch {mark}`"
    cmd = remote_command(f"h1 {evil}", f"{tmp_path}/ds {evil}.xml", ["r1"])
    proc = subprocess.run(["sh", "-c", cmd], input="<x/>", capture_output=True, text=True,
                          check=False, timeout=60)
    assert not mark.exists()
    if os.geteuid() == 0:
        assert proc.returncode in (98, 99), proc.stderr  # 98: no oscap here
        if proc.returncode == 99:
            assert f"no datastream {tmp_path}/ds {evil}.xml" in proc.stderr


def _site_with_ipv6_host(tmp: Path) -> Path:
    root = Path(__file__).resolve().parents[2]
    (tmp / "examples").mkdir()
    (tmp / "inventories" / "examples").mkdir(parents=True)
    profile = tmp / "examples" / "site-mixed.yml"
    profile.write_text((root / "examples" / "site-mixed.yml").read_text(encoding="utf-8"),
                       encoding="utf-8")
    inv = (root / "inventories" / "examples" / "mixed-site.yml").read_text(encoding="utf-8")
    old = "        srv-dui:\n          ansible_host: 192.0.2.10\n"
    assert old in inv
    (tmp / "inventories" / "examples" / "mixed-site.yml").write_text(
        inv.replace(old, old + '        "2001:db8::5": {}\n'), encoding="utf-8")
    return profile


def test_scan_of_a_host_named_by_its_ipv6_address_stops_no_other_host(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An inventory host named ``2001:db8::5`` (Ansible accepts it): its tailoring was built
    with ``limit=<name>``, which the plan splits on ``:`` -> PlanError, not caught per host:
    the whole scan stopped. Now the tailoring picks the host by its exact name, and any
    EsmsError is that host's own error."""
    import subprocess

    from esms_baseline.profile import load_profile
    from esms_baseline.scanner import remote
    from esms_baseline.scanner.tailoring import export_tailoring

    monkeypatch.setenv("ESMS_STATE_DIR", str(tmp_path / "state"))
    profile = load_profile(_site_with_ipv6_host(tmp_path))
    xml = export_tailoring(profile, host="2001:db8::5")
    assert "xccdf_org.esms-baseline_profile_2001-db8--5" in xml and "srv-dui" not in xml
    sent: list[str] = []

    real = subprocess.run

    def ssh(argv: list[str], **kw: Any) -> Any:
        if argv[0] != "ssh" or "-G" in argv:  # ansible-inventory, ssh -G (local)
            return real(argv, **kw)
        sent.append(argv[-1])  # nothing leaves this machine
        return subprocess.CompletedProcess(argv, 1, "", "offline test")

    monkeypatch.setattr(subprocess, "run", ssh)
    scans = remote.scan_hosts(profile)
    assert sorted(s.host for s in scans) == ["2001:db8::5", "srv-dui"]
    assert all(s.error for s in scans)


def test_a_host_s_plan_error_is_its_own_in_a_scan(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    from esms_baseline.errors import PlanError
    from esms_baseline.profile import load_profile
    from esms_baseline.scanner import remote

    monkeypatch.setenv("ESMS_STATE_DIR", str(tmp_path / "state"))
    profile = load_profile(_site_with_ipv6_host(tmp_path))

    def tailoring(_p: Any, *, host: str, **_: Any) -> str:
        if host == "srv-dui":
            raise PlanError("srv-dui: broken")
        return "<x/>"

    monkeypatch.setattr(remote, "export_tailoring", tailoring)
    real = subprocess.run
    monkeypatch.setattr(subprocess, "run", lambda argv, **kw: real(argv, **kw)
                        if argv[0] != "ssh" or "-G" in argv
                        else subprocess.CompletedProcess(argv, 1, "", "offline test"))
    scans = {s.host: s.error for s in remote.scan_hosts(profile)}
    assert scans["srv-dui"] == "srv-dui: broken" and "offline test" in scans["2001:db8::5"]


def test_a_host_answering_bytes_that_are_not_utf8_stops_no_other_scan(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ssh's output was decoded strictly (``text=True``): a host writing one byte that is not
    UTF-8 raised UnicodeDecodeError out of the thread pool and the whole scan stopped.
    Here "ssh" is a local ``printf`` (real bytes through the real subprocess.run)."""
    import subprocess

    from esms_baseline.profile import load_profile
    from esms_baseline.scanner import remote

    monkeypatch.setenv("ESMS_STATE_DIR", str(tmp_path / "state"))
    profile = load_profile(_site_with_ipv6_host(tmp_path))
    real = subprocess.run

    def ssh(argv: list[str], **kw: Any) -> Any:
        if argv[0] != "ssh" or "-G" in argv:
            return real(argv, **kw)
        return real(["sh", "-c", r"printf '<x>\377</x>'; exit 1"], **kw)

    monkeypatch.setattr(subprocess, "run", ssh)
    scans = remote.scan_hosts(profile)
    assert sorted(s.host for s in scans) == ["2001:db8::5", "srv-dui"]
    assert all(s.error.startswith("exit 1") for s in scans)


def test_any_unexpected_error_on_one_host_is_its_own_in_a_scan(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever fails while one host is scanned (here: explaining a refused key raises) is
    that host's error; the other hosts' scans are kept."""
    import subprocess

    from esms_baseline import hostkeys
    from esms_baseline.profile import load_profile
    from esms_baseline.scanner import remote

    monkeypatch.setenv("ESMS_STATE_DIR", str(tmp_path / "state"))
    profile = load_profile(_site_with_ipv6_host(tmp_path))
    real = subprocess.run

    def ssh(argv: list[str], **kw: Any) -> Any:
        if argv[0] != "ssh" or "-G" in argv:
            return real(argv, **kw)
        return subprocess.CompletedProcess(argv, 255, "", "Host key verification failed.")

    def verify(ep: Any) -> Any:
        if ep.name == "srv-dui":
            raise OSError("ssh-keyscan: cannot run")
        return type("Verified", (), {"message": "key changed"})()

    monkeypatch.setattr(subprocess, "run", ssh)
    monkeypatch.setattr(hostkeys, "verify", verify)
    scans = {s.host: s.error for s in remote.scan_hosts(profile)}
    assert "cannot run" in scans["srv-dui"]
    assert "key changed" in scans["2001:db8::5"]


def test_fleet_refuses_two_sites_that_would_share_a_known_hosts_file(tmp_path: Path) -> None:
    """The site's known_hosts file is named by a slug of its name (hostkeys.site_known_hosts):
    "EHPAD Saint-Jean" and "EHPAD saint jean" are two sites for the fleet (names differ) but
    ONE known_hosts file: a key trusted for site B's ``srv-01`` then vouched for site A's
    ``srv-01``. The second profile is now refused, naming the first."""
    from esms_baseline import hostkeys
    from esms_baseline.fleet import validate_profiles
    from tests.unit.test_fleet import site

    a = site(tmp_path, "EHPAD Saint-Jean", file="a.yml")
    b = site(tmp_path, "EHPAD saint jean", file="b.yml")
    c = site(tmp_path, "EHPAD Saint-Paul", file="c.yml")
    state = tmp_path / "state"
    assert (hostkeys.site_known_hosts("EHPAD Saint-Jean", state)
            == hostkeys.site_known_hosts("EHPAD saint jean", state))
    good, bad = validate_profiles([a, b, c])
    assert sorted(good) == [a, c]
    assert list(bad) == [b] and "known_hosts" in bad[b].errors[0] and str(a) in bad[b].errors[0]


def test_worker_facts_with_undecodable_bytes_reach_the_check(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A host's facts hold a name read with surrogateescape (a non-UTF-8 byte in a file
    name): JSON carries it as ``\\udcff``; the facts file was written with
    ensure_ascii=False, so encoding it in UTF-8 raised and the whole check stopped."""
    from esms_baseline import conformance, remote_check
    from esms_baseline.conformance import CheckPlan, CheckTarget
    from esms_baseline.remote import Worker

    facts = {"platform": "debian", "files": ["caf\udcff"]}
    monkeypatch.setattr(remote_check, "collect_on_worker",
                        lambda *a, **k: remote_check.WorkerFacts(facts={"h": facts}))
    seen: list[Any] = []

    class Read(Exception):
        pass

    def check(plan: Any, **kw: Any) -> Any:
        seen.append(json.loads(kw["facts_file"].read_text(encoding="utf-8")))
        raise Read

    monkeypatch.setattr(conformance, "check", check)
    plan = CheckPlan("S", (CheckTarget("h", "debian", "ssh://h"),))
    with pytest.raises(Read):
        remote_check.check_remote(plan, Worker("w@x", Path("/nonexistent")),
                                  connection_inventory=Path("/nonexistent"))
    assert seen == [{"hosts": {"h": {"facts": facts}}}]


def test_facts_with_lone_surrogates_are_made_encodable() -> None:
    """A host's collector lists a file name with a non-UTF-8 byte (Python names it with
    surrogateescape, JSON writes ``\\udcff``): the controller's facts then held a lone
    surrogate, which no UTF-8 file can hold: the plugin's results file (ensure_ascii=False)
    raised, and every row of the run (every site of a fleet) became "no result". The facts
    are now scrubbed where they are read (worker and local)."""
    from esms_baseline.conformance.collectors import scrub_surrogates
    from esms_baseline.remote_check import _parse_facts

    out = '{"platform": "debian", "sudoers_d": ["ok", "caf\\udcff"], "k\\udcfe": 1}'
    facts = _parse_facts("h", "debian", out)
    json.dumps(facts, ensure_ascii=False).encode("utf-8")  # no UnicodeEncodeError
    assert facts["sudoers_d"][0] == "ok" and facts["sudoers_d"][1].startswith("caf")
    assert scrub_surrogates({"a": ["\udcff", 1, None, "é"]}) == {"a": ["\ufffd", 1, None, "é"]}
