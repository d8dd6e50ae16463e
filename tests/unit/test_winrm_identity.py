"""A Windows host's identity is its WinRM HTTPS certificate: every way an inventory can say
"WinRM" is held to the same rule (validated certificate unless a reason is given).

Before: the psrp connection's own variables (``ansible_psrp_cert_validation: ignore``,
``ansible_psrp_protocol: http``; ansible-core plugins/connection/psrp.py) were not read, a
fully qualified ``ansible.builtin.winrm`` was not recognised, and a host the profile declares
(platform debian) reached by WinRM through its connection inventory was never checked: the
initial passwords could go to whoever presents a certificate.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from esms_baseline import hostkeys
from esms_baseline.errors import PlanError
from esms_baseline.plan import build_plan
from esms_baseline.profile import load_profile
from esms_baseline.windows.connection import weaknesses

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "site.yml"


def test_psrp_variables_are_read() -> None:
    assert weaknesses({"ansible_connection": "psrp"}) == []
    assert weaknesses({"ansible_connection": "psrp", "ansible_psrp_cert_validation": "ignore"})
    assert weaknesses({"ansible_connection": "ansible.builtin.psrp",
                       "ansible_psrp_protocol": "http", "ansible_psrp_auth": "basic"})
    # the psrp connection ignores the winrm variables: they do not make it weaker
    assert weaknesses({"ansible_connection": "psrp",
                       "ansible_winrm_server_cert_validation": "ignore"}) == []


@pytest.mark.parametrize("conn,var", [
    ("winrm", "ansible_winrm_server_cert_validation"),
    ("ansible.builtin.winrm", "ansible_winrm_server_cert_validation"),
    ("psrp", "ansible_psrp_cert_validation"),
    ("ansible.builtin.psrp", "ansible_psrp_cert_validation"),
])
def test_an_unvalidated_certificate_in_the_inventory_is_refused(
        tmp_path: Path, conn: str, var: str) -> None:
    inv = tmp_path / "inventory.yml"
    inv.write_text("all:\n  hosts:\n    lab-01:\n      ansible_host: 192.0.2.10\n"
                   f"      ansible_connection: {conn}\n      {var}: ignore\n")
    with pytest.raises(PlanError, match="certificate not validated"):
        build_plan(load_profile(EXAMPLE), inventory=inv, limit="lab-01")


def test_a_fully_qualified_winrm_connection_is_not_probed_over_ssh() -> None:
    assert not hostkeys.is_ssh_host({"ansible_connection": "ansible.builtin.winrm"})
    assert not hostkeys.is_ssh_host({"ansible_connection": "ansible.builtin.psrp"})
    assert hostkeys.is_ssh_host({"ansible_connection": "ansible.builtin.ssh"})
