"""``apply|check|drift --worker USER@HOST ...``: run the Ansible part on a remote ansible-runner worker
(esms_baseline.remote; docs/awx.md "Remote worker")."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from esms_baseline.results import CheckResult


def add_worker_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("remote worker (ansible-runner transmit | ssh worker | process)")
    g.add_argument("--worker", metavar="USER@HOST",
                   help="run the playbook on this worker over SSH (ansible-runner worker)")
    g.add_argument("--worker-port", type=int, default=22, metavar="PORT", help="its SSH port")
    g.add_argument("--worker-known-hosts", type=Path, metavar="FILE",
                   help="known_hosts holding the worker's host key (checked strictly; required)")
    g.add_argument("--worker-identity", type=Path, metavar="KEY",
                   help="the SSH key that logs in to the worker")
    g.add_argument("--worker-venv", metavar="DIR",
                   help="the worker's virtualenv with ansible-runner and ansible-playbook")
    g.add_argument("--worker-inventory", type=Path, metavar="FILE",
                   help="connection inventory of the hosts as the worker reaches them "
                        "(required with --worker)")
    g.add_argument("--worker-host-key", type=Path, metavar="KEY",
                   help="the private key the worker connects to the hosts with (sent with "
                        "the job only, deleted with it)")


def worker_apply_fn(args: argparse.Namespace) -> Any:
    """The apply function for ``args``: None (local) or one that runs through the worker.
    Raises RunError when --worker is given without what it needs."""
    if not getattr(args, "worker", None):
        return None
    from esms_baseline.errors import RunError
    from esms_baseline.remote import Worker, remote_apply_fn

    if args.worker_known_hosts is None or args.worker_inventory is None:
        raise RunError("--worker needs --worker-known-hosts (its host key, checked before "
                       "any secret is sent) and --worker-inventory (how it reaches the hosts)")
    worker = Worker(destination=args.worker, port=args.worker_port,
                    known_hosts=args.worker_known_hosts, identity_file=args.worker_identity,
                    venv=args.worker_venv)
    return remote_apply_fn(worker, connection_inventory=args.worker_inventory,
                           ssh_key=args.worker_host_key)


def worker_check_fn(args: argparse.Namespace) -> Callable[..., CheckResult] | None:
    """``check``/``drift`` with ``--worker``: None (local) or a function ``(plan, forks,
    controls, junit_xml, facts_dir) -> CheckResult`` that collects through the worker
    (esms_baseline.remote_check). Raises RunError when --worker lacks what it needs."""
    if not getattr(args, "worker", None):
        return None
    from esms_baseline.errors import RunError
    from esms_baseline.remote import Worker
    from esms_baseline.remote_check import check_remote

    if args.worker_known_hosts is None or args.worker_inventory is None:
        raise RunError("--worker needs --worker-known-hosts (its host key, checked before "
                       "anything is sent) and --worker-inventory (how it reaches the hosts)")
    if getattr(args, "trust_on_first_use", False):
        raise RunError("--trust-on-first-use does not apply with --worker: record the hosts' "
                       "keys first (`esms-baseline trust`), the worker verifies them")
    worker = Worker(destination=args.worker, port=args.worker_port,
                    known_hosts=args.worker_known_hosts, identity_file=args.worker_identity,
                    venv=args.worker_venv)

    def fn(plan: Any, *, forks: int = 20, controls: Any = None, junit_xml: Any = None,
           facts_dir: Any = None) -> CheckResult:
        return check_remote(plan, worker, connection_inventory=args.worker_inventory,
                            ssh_key=args.worker_host_key, forks=forks, controls=controls,
                            junit_xml=junit_xml, facts_dir=facts_dir)

    return fn
