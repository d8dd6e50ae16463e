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
