"""Profile values are data for Ansible, never templates.

Ansible renders the strings of an inventory it reads as Jinja: a site name ``EHPAD {{
lookup('pipe', ...) }}`` (which ``validate`` accepts: braces are legitimate text) written as
it is into the site inventory ran that command on the control machine, as the user running
esms-baseline, as soon as a role read the variable. Proved here with Ansible itself
(``ansible -c local -m debug``: nothing leaves this machine).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from esms_baseline.plan import build_plan
from esms_baseline.profile import load_profile
from esms_baseline.profile.ansible_yaml import dump

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "site.yml"


def _ansible(inventory: Path, var: str) -> str:
    exe = Path(sys.executable).parent / "ansible"
    proc = subprocess.run([str(exe), "-i", str(inventory), "lab-01", "-c", "local", "-m",
                           "debug", "-a", f"var={var}"], capture_output=True, text=True,
                          check=False, timeout=120, env={**os.environ, "ANSIBLE_NOCOLOR": "1"})
    return proc.stdout + proc.stderr


def test_a_template_in_a_profile_value_is_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    hostile = "EHPAD {{ lookup('pipe', 'touch " + str(marker) + "') }}"
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "name: EHPAD Les Tilleuls", "name: " + json.dumps(hostile), 1)
    profile = tmp_path / "site.yml"
    profile.write_text(text, encoding="utf-8")
    prof = load_profile(profile)
    assert prof.site.name == hostile  # validate accepts it: braces are text
    inventory = build_plan(prof, limit="lab-01").write_inventory(tmp_path / "inv")
    out = _ansible(inventory, "esms_site_name")
    assert not marker.exists(), "the profile value ran a command on the control machine"
    assert "lookup('pipe'" in out  # shown literally


def test_password_references_stay_templates_and_passwords_stay_data() -> None:
    from esms_baseline.profile.ansible_yaml import Template

    text = dump({"all": {"hosts": {"h": {"ansible_password": Template("{{ esms_secret_conn_x }}"),
                                         "esms_site_name": "a {{ b }}", "n": [1, "c"],
                                         "d": "2028-06-30", "k": "12"}}}})
    assert "ansible_password: '{{ esms_secret_conn_x }}'" in text
    assert "esms_site_name: !unsafe 'a {{ b }}'" in text
    # no brace, no template: plain (quoted) strings, so that their type stays str
    # (ansible-core 2.19 resolves !unsafe '2028-06-30' to a date and !unsafe '12' to an int)
    assert "- c\n" in text and "d: '2028-06-30'" in text and "k: '12'" in text
    assert "!unsafe '2028" not in text and "!unsafe '12'" not in text


def test_a_password_holding_braces_is_a_password(tmp_path: Path) -> None:
    """The run's one-time vault file (extra variables) holds passwords as data: one holding
    ``{{`` is neither rendered nor run."""
    from types import SimpleNamespace

    from esms_baseline.run import _secret_material

    marker = tmp_path / "ran"
    password = "Pw{{ lookup('pipe', 'touch " + str(marker) + "') }}"
    os.environ["ESMS_TEST_BRACES_PW"] = password
    try:
        plan = SimpleNamespace(secret_env={"esms_secret_x": "ESMS_TEST_BRACES_PW"},
                               profile=SimpleNamespace(vault_file=None))
        inventory = tmp_path / "inv.yml"
        inventory.write_text("all:\n  hosts:\n    lab-01: {}\n")
        with _secret_material(plan, None) as args:  # type: ignore[arg-type]
            exe = Path(sys.executable).parent / "ansible"
            proc = subprocess.run([str(exe), "-i", str(inventory), "lab-01", "-c", "local",
                                   "-m", "debug", "-a", "var=esms_secret_x", *args],
                                  capture_output=True, text=True, check=False, timeout=120)
    finally:
        del os.environ["ESMS_TEST_BRACES_PW"]
    assert not marker.exists(), "a password was run as a template"
    assert "Pw{{ lookup('pipe'" in proc.stdout, proc.stdout + proc.stderr
