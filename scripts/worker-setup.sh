#!/usr/bin/env bash
# Set up an ansible-runner worker (the machine near the hosts that runs the jobs that
# `esms-baseline apply --worker` streams to it): a virtualenv with ansible-core and
# ansible-runner, at the versions of the controller. Run it AS THE WORKER'S ACCOUNT:
#
#   bash worker-setup.sh VENV_DIR [WHEEL_DIR]
#
# WHEEL_DIR (optional): install offline from these wheels (`pip download` them on a machine
# that has the index). The worker also needs `ssh` and `ssh-agent` (openssh-client) to reach
# the hosts. Nothing else: no esms-baseline, no profile, no secret is kept on the worker.
set -euo pipefail
VENV=${1:?usage: worker-setup.sh VENV_DIR [WHEEL_DIR]}
WHEELS=${2:-}
# Pinned like pyproject.toml (ansible-core 2.19: Python 3.11).
REQS=("ansible-core>=2.19,<2.20" "ansible-runner>=2.4,<3")
umask 077
python3 -m venv "$VENV"
if [ -n "$WHEELS" ]; then
  "$VENV/bin/pip" install -q --no-index --find-links "$WHEELS" "${REQS[@]}"
else
  "$VENV/bin/pip" install -q "${REQS[@]}"
fi
"$VENV/bin/ansible-runner" --version >/dev/null
"$VENV/bin/ansible-playbook" --version >/dev/null
echo "worker ready: PATH=$VENV/bin:\$PATH ansible-runner worker --delete"
