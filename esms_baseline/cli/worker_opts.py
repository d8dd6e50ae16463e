"""``apply --worker USER@HOST ...``: run the Ansible part on a remote ansible-runner worker
(esms_baseline.remote; docs/awx.md "Remote worker")."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


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
