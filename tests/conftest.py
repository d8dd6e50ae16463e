"""Shared pytest fixtures.

Lab fixtures (this block is self-contained; add other fixtures below it):
``lab`` brings lab hosts up once per session, in a state dir of its own so that it never
touches another lab running on the same machine, and always tears them down.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import pytest

from esms_baseline.lab import Lab

# --- lab ----------------------------------------------------------------------------------

LAB_HOSTS_ENV = "ESMS_TEST_LAB_HOSTS"


def lab_host_count() -> int:
    """How many hosts the session lab has ($ESMS_TEST_LAB_HOSTS, default 3)."""
    return int(os.environ.get(LAB_HOSTS_ENV, "3"))


def lab_skip_reason() -> str | None:
    """Why lab tests cannot run here, or None."""
    from esms_baseline.lab.preflight import missing_requirements

    problems = missing_requirements(build=True)
    return "lab tests need: " + "; ".join(problems) if problems else None


def new_lab_state_dir(tag: str) -> Path:
    """A fresh state dir for a test lab (namespaced by pid: several runs can coexist)."""
    d = Path("/var/lib/esms-baseline") / f"lab-tests-{os.getpid()}-{tag}"
    shutil.rmtree(d, ignore_errors=True)
    return d


def teardown_lab(state_dir: Path) -> None:
    """Stop a test lab and remove its state dir; safe to call twice."""
    from esms_baseline import lab as lab_api

    if state_dir.exists():
        lab_api.down(state_dir)
        shutil.rmtree(state_dir, ignore_errors=True)


@contextmanager
def random_secrets_in_env(names: Iterable[str]) -> Iterator[dict[str, str]]:
    """Random values for the environment variables ``names`` (secrets a run reads), restored
    afterwards."""
    import secrets

    values = {n: "Esms-" + secrets.token_urlsafe(16) for n in sorted(set(names))}
    old = {n: os.environ.get(n) for n in values}
    os.environ.update(values)
    try:
        yield values
    finally:
        for n, v in old.items():
            if v is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = v


@contextmanager
def running_lab(tag: str, count: int, *, fresh: bool = False, suite: str = "bookworm") -> Iterator[Lab]:
    """A lab of ``count`` hosts in a state dir of its own (named by ``tag``), for a fixture:
    skips when lab tests cannot run here, and always tears the hosts down."""
    reason = lab_skip_reason()
    if reason:
        pytest.skip(reason)
    from esms_baseline import lab as lab_api

    state_dir = new_lab_state_dir(tag)
    atexit.register(teardown_lab, state_dir)  # if the finally below never runs
    try:
        yield lab_api.up(count, state_dir=state_dir, fresh=fresh, suite=suite)
    finally:
        teardown_lab(state_dir)


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """The session's lab: ``esms_baseline.lab.Lab`` with $ESMS_TEST_LAB_HOSTS hosts."""
    reason = lab_skip_reason()
    if reason:
        pytest.skip(reason)
    from esms_baseline import lab as lab_api

    state_dir = new_lab_state_dir("session")
    atexit.register(teardown_lab, state_dir)  # if the finally below never runs
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")  # so that finally blocks run

    if previous in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield lab_api.up(lab_host_count(), state_dir=state_dir)
    finally:
        teardown_lab(state_dir)
        if previous in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


# --- state isolation ----------------------------------------------------------------------


@pytest.fixture(autouse=True, scope="session")
def _isolated_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Run artifacts and the check history of the tests go to a temporary folder, never
    into the user's own ~/.local/state/esms-baseline."""
    old = {k: os.environ.get(k) for k in ("ESMS_STATE_DIR", "ESMS_HISTORY")}
    os.environ["ESMS_STATE_DIR"] = str(tmp_path_factory.mktemp("esms-state"))
    os.environ.pop("ESMS_HISTORY", None)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
