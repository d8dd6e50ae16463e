"""Fixtures for the enforcement tests: a lab of their own (apply changes hosts, so these
tests never share hosts with the tests that need fresh ones), and ways to read a host's state
from outside (nsenter), independent of the code under test."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from esms_baseline.lab import Lab, nsenter_run
from tests.conftest import lab_host_count, random_secrets_in_env, running_lab

#: What apply and check may touch on a host; hashed to prove that a check or a dry run
#: leaves the host byte-identical. Ansible's own remote working area (~/.ansible) is left out.
WATCHED = ("/etc", "/usr/share/pam-configs", "/var/lib/esms-baseline", "/home", "/root")

_DIGEST_SCRIPT = r"""
set -e
for d in {dirs}; do
  [ -e "$d" ] || continue
  find "$d" -xdev \( -name .ansible -prune \) -o \( -type f -o -type l \) -print0
done | sort -z | while IFS= read -r -d '' f; do
  if [ -L "$f" ]; then printf '%s -> %s\n' "$f" "$(readlink "$f")";
  else printf '%s %s %s\n' "$f" "$(stat -c '%a %U %G %Y' "$f")" "$(sha256sum < "$f" | cut -d' ' -f1)"; fi
done
"""


def host_state(lab: Lab, host: str, dirs: tuple[str, ...] = WATCHED) -> dict[str, str]:
    """path -> mode, owner, mtime and sha256 of every file under ``dirs`` on ``host``."""
    out = nsenter_run(lab, host, ["bash", "-c", _DIGEST_SCRIPT.format(dirs=" ".join(dirs))]).stdout
    state = {}
    for line in out.splitlines():
        path, _, rest = line.partition(" ")
        state[path] = rest
    return state


def digest(state: dict[str, str]) -> str:
    return hashlib.sha256(repr(sorted(state.items())).encode()).hexdigest()


#: The example profile's hosts; lab-04 plays the MSP's off-site backup store.
SITE_HOSTS = ("lab-01", "lab-02", "lab-03")
OFFSITE_STORE = "lab-04"


@pytest.fixture(scope="module")
def site_lab() -> Iterator[Lab]:
    """A lab for one test module: the example profile's 3 hosts, and a 4th host playing the
    off-site backup store of the backed-up ones (``lab offsite``); torn down at its end."""
    from esms_baseline.lab.offsite import setup_offsite
    from esms_baseline.profile import load_profile

    profile = load_profile(Path(__file__).resolve().parents[2] / "examples" / "site.yml")
    with running_lab("apply", max(4, lab_host_count())) as running:
        assert profile.backup.repository
        setup_offsite(running, store=OFFSITE_STORE, repository=profile.backup.repository,
                      clients=[h for h in SITE_HOSTS if profile.settings_for(h).backup_enabled])
        yield running


@pytest.fixture(scope="session")
def initial_passwords() -> Iterator[dict[str, str]]:
    """Random values, in the environment, for every secret the example profile reads from it
    (initial passwords, the backup repository password)."""
    from esms_baseline.plan import build_plan
    from esms_baseline.profile import load_profile

    profile = load_profile(Path(__file__).resolve().parents[2] / "examples" / "site.yml")
    with random_secrets_in_env(build_plan(profile).secret_env.values()) as values:
        yield values
