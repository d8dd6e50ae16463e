"""Pure parts of the lab: ssh_config and inventory rendering, the state file, the package
list hash and cache key, mirrors, cgroup discovery, names and paths, preflight messages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from esms_baseline.errors import LabError
from esms_baseline.lab import Lab, LabHost, cgroups, image, paths, preflight
from esms_baseline.lab.sshconf import SshTarget, render_inventory, render_ssh_config
from esms_baseline.lab.state import HostRecord, LabState, parse_state

KEY = Path("/srv/lab/id_ed25519")


def _config() -> str:
    return render_ssh_config(
        [SshTarget("lab-01", 101), SshTarget("lab-02", 202)],
        lab_id="abcdef0123",
        private_key=KEY,
        control_dir=Path("/srv/lab"),
    )


def _host_blocks(text: str) -> dict[str, dict[str, str]]:
    blocks: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in text.splitlines():
        if line.startswith("Host "):
            current = blocks.setdefault(line.split()[1], {})
        elif line.startswith("    ") and current is not None:
            key, _, value = line.strip().partition(" ")
            current[key] = value
    return blocks


def test_ssh_config_has_one_block_per_host_with_its_own_namespace() -> None:
    blocks = _host_blocks(_config())
    assert list(blocks) == ["lab-01", "lab-02"]
    assert blocks["lab-01"]["ProxyCommand"] == "nsenter -t 101 -n socat - TCP:127.0.0.1:22"
    assert blocks["lab-02"]["ProxyCommand"] == "nsenter -t 202 -n socat - TCP:127.0.0.1:22"
    for name, b in blocks.items():
        assert b["User"] == "esms-admin"
        assert b["IdentityFile"] == str(KEY)
        assert b["IdentitiesOnly"] == "yes"
        assert b["ControlMaster"] == "auto"
        assert b["ControlPersist"] == "60s"
        assert b["StrictHostKeyChecking"] == "yes"  # the lab's keys are read from its disks
        assert b["UserKnownHostsFile"].endswith(f"/known_hosts.d/{name}")
        assert b["LogLevel"] == "ERROR"


def test_ssh_config_control_path_is_per_host_never_a_shared_hash() -> None:
    blocks = _host_blocks(_config())
    for b in blocks.values():
        assert b["ControlPath"] == "/srv/lab/cm-%n"
        assert "%C" not in b["ControlPath"]
    # HostName differs per host and per lab, so %C-based paths (Ansible's) differ too
    names = {b["HostName"] for b in blocks.values()}
    assert names == {"lab-01.abcdef0123.esms-lab", "lab-02.abcdef0123.esms-lab"}


def test_inventory_lists_hosts_under_lab_with_management_vars() -> None:
    text = render_inventory(["lab-01", "lab-02", "lab-03"], ssh_config=Path("/srv/lab/ssh_config"))
    doc = yaml.safe_load(text)
    group = doc["all"]["children"]["lab"]
    assert list(group["hosts"]) == ["lab-01", "lab-02", "lab-03"]
    assert group["vars"] == {
        "ansible_user": "esms-admin",
        "ansible_become": True,
        "ansible_ssh_common_args": "-F /srv/lab/ssh_config",
        "ansible_control_path_dir": "/srv/lab/acp",
        "ansible_python_interpreter": "/usr/bin/python3",
    }


def _state() -> LabState:
    return LabState(
        lab_id="abcdef0123",
        suite="bookworm",
        desktop=False,
        base="/var/cache/esms-baseline/lab/bookworm-server-x",
        hosts=(
            HostRecord(
                "lab-01",
                "lab-01-abcdef0123",
                "/s/hosts/lab-01/root",
                "/s/hosts/lab-01/upper",
                "/s/hosts/lab-01/work",
                10,
                12,
            ),
            HostRecord(
                "lab-02",
                "lab-02-abcdef0123",
                "/s/hosts/lab-02/root",
                "/s/hosts/lab-02/upper",
                "/s/hosts/lab-02/work",
            ),
        ),
    )


def test_state_round_trips() -> None:
    state = _state()
    assert parse_state(state.to_json()) == state


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(version=99), "unsupported state version"),
        (lambda d: d.update(desktop="no"), "desktop"),
        (lambda d: d.update(hosts={}), "hosts: expected a list"),
        (lambda d: d["hosts"][0].update(nspawn_pid=-3), "nspawn_pid"),
        (lambda d: d["hosts"][0].update(leader_pid=True), "leader_pid"),
        (lambda d: d["hosts"][1].pop("root"), "hosts[1].root"),
        (lambda d: d.pop("lab_id"), "lab_id"),
    ],
)
def test_state_parse_names_what_is_wrong(mutate: object, message: str) -> None:
    doc = json.loads(_state().to_json())
    mutate(doc)  # type: ignore[operator]
    with pytest.raises(LabError, match=re.escape(message)):
        parse_state(json.dumps(doc), "state.json")


def test_state_parse_rejects_garbage() -> None:
    with pytest.raises(LabError, match="not valid JSON"):
        parse_state("{garbage")
    with pytest.raises(LabError, match="expected a JSON object"):
        parse_state("[]")


def test_package_hash_ignores_order_and_duplicates_but_not_content() -> None:
    a = image.package_hash(["python3", "sudo"])
    assert a == image.package_hash(["sudo", "python3", "sudo"])
    assert a != image.package_hash(["python3", "sudo", "nftables"])
    assert re.fullmatch(r"[0-9a-f]{12}", a)


def test_cache_key_has_suite_flavour_and_package_hash() -> None:
    server = image.cache_key("bookworm", False)
    desktop = image.cache_key("bookworm", True)
    trixie = image.cache_key("trixie", False)
    assert server.startswith("bookworm-server-") and desktop.startswith("bookworm-desktop-")
    assert trixie.startswith("trixie-server-")
    assert len({server, desktop, trixie}) == 3
    assert server.endswith(image.package_hash(image.PACKAGES))
    assert image.cache_key("bookworm", False, image.PACKAGES + ("vim",)) != server


def test_package_lists() -> None:
    assert len(set(image.PACKAGES)) == len(image.PACKAGES)
    for needed in (
        "openssh-server",
        "python3",
        "systemd",
        "sudo",
        "nftables",
        "restic",
        "clamav",
        "unattended-upgrades",
        "libpam-pwquality",
    ):
        assert needed in image.PACKAGES
    assert "locales-all" not in image.PACKAGES
    assert "dconf-cli" in image.package_list(True)
    assert "dconf-cli" not in image.package_list(False)


def test_mirrors_read_from_deb822_and_one_line_sources(tmp_path: Path) -> None:
    deb822 = tmp_path / "debian.sources"
    deb822.write_text(
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\n\n"
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n"
    )
    assert image.mirrors([deb822]) == (
        "http://mirror.example/debian",
        "http://mirror.example/debian-security",
    )
    one = tmp_path / "sources.list"
    one.write_text("deb [signed-by=/k.gpg] http://m2.example/debian bookworm main\n")
    assert image.mirrors([one]) == ("http://m2.example/debian", image.DEFAULT_SECURITY_MIRROR)
    assert image.mirrors([tmp_path / "missing"]) == (
        image.DEFAULT_MIRROR,
        image.DEFAULT_SECURITY_MIRROR,
    )


def test_apt_sources_include_updates_and_security() -> None:
    assert image.apt_sources("trixie", "http://d/debian", "http://d/debian-security") == [
        "deb http://d/debian trixie main",
        "deb http://d/debian trixie-updates main",
        "deb http://d/debian-security trixie-security main",
    ]


def test_unknown_suite_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="unknown suite"):
        image.ensure_base(tmp_path, "sid", False)


HYBRID = """\
30 25 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw
32 30 0:28 / /sys/fs/cgroup/systemd rw,nosuid - cgroup cgroup rw,xattr,name=systemd
33 30 0:29 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
"""
UNIFIED = "30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"


def test_cgroup_hierarchies_hybrid_and_unified() -> None:
    assert cgroups.hierarchies(HYBRID) == [
        Path("/sys/fs/cgroup/unified"),
        Path("/sys/fs/cgroup/systemd"),
    ]
    assert cgroups.hierarchies(UNIFIED) == [Path("/sys/fs/cgroup")]
    with pytest.raises(LabError, match="cgroup v2"):
        cgroups.hierarchies("33 30 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n")


def test_names_are_stable_and_namespaced_by_state_dir() -> None:
    assert [paths.host_name(i) for i in (1, 2, 20)] == ["lab-01", "lab-02", "lab-20"]
    with pytest.raises(LabError):
        paths.host_name(0)
    a, b = paths.lab_id(Path("/var/lib/a")), paths.lab_id(Path("/var/lib/b"))
    assert a != b and a == paths.lab_id(Path("/var/lib/a")) and len(a) == 10
    assert paths.cgroup_name(a) == f"esms-lab-{a}"
    assert paths.machine_name(a, "lab-01") != paths.machine_name(b, "lab-01")


def test_state_dir_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(paths.STATE_DIR_ENV, raising=False)
    assert paths.resolve_state_dir() == paths.DEFAULT_STATE_DIR
    monkeypatch.setenv(paths.STATE_DIR_ENV, "/tmp/x-lab")
    assert paths.resolve_state_dir() == Path("/tmp/x-lab")
    assert paths.resolve_state_dir(Path("/srv/y")) == Path("/srv/y")
    monkeypatch.setenv(paths.CACHE_DIR_ENV, "/tmp/x-cache")
    assert paths.resolve_cache_dir() == Path("/tmp/x-cache")


def test_control_dir_falls_back_when_socket_path_too_long() -> None:
    assert paths.control_dir(Path("/var/lib/esms-baseline/lab"), "abc") == Path(
        "/var/lib/esms-baseline/lab"
    )
    long = Path("/tmp/" + "x" * 100)
    assert paths.control_dir(long, "abc") == Path("/run/esms-lab/abc")


def test_testinfra_host_specs() -> None:
    lab = Lab(
        state_dir=Path("/s"),
        hosts=(LabHost("lab-01", "running", 5, Path("/s/hosts/lab-01/root")),),
        inventory_path=Path("/s/inventory.yml"),
        ssh_config_path=Path("/s/ssh_config"),
        private_key=Path("/s/id_ed25519"),
        management_user="esms-admin",
    )
    assert lab.testinfra_hosts() == ["ssh://lab-01?ssh_config=/s/ssh_config&sudo=true"]
    assert lab.host("lab-01").leader_pid == 5
    with pytest.raises(LabError, match="no host 'lab-09'"):
        lab.host("lab-09")


def test_preflight_lists_everything_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preflight.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(
        preflight.shutil,
        "which",
        lambda cmd: None if cmd in ("socat", "systemd-nspawn") else "/bin/x",
    )
    with pytest.raises(LabError) as err:
        preflight.require()
    text = str(err.value)
    assert "root" in text
    assert "Debian package systemd-container (for systemd-nspawn)" in text
    assert "Debian package socat (for socat)" in text
    assert "apt-get install systemd-container socat" in text
