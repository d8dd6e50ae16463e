#!/usr/bin/env bash
# Set up a fresh Debian 12 machine (as root) for esms-baseline: the Debian packages the lab
# and the tests need, and a virtual environment in .venv with the project installed.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: lab hosts (mmdebstrap, systemd-nspawn, socat relay, nsenter from
# util-linux), SSH client, nftables (only to read rulesets in tests; never loaded on the
# control machine), sqlite3 (history), chromium (report tests).
APT_PACKAGES=(
  mmdebstrap systemd-container socat util-linux openssh-client nftables procps
  sqlite3 git ca-certificates chromium
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The reference scanner (OpenSCAP + ComplianceAsCode content) for the lab hosts, offline.
bash scripts/fetch-scanner.sh

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c "import esms_baseline, ansible_runner, testinfra, ansiblelint" 2>/dev/null \
   || [ pyproject.toml -nt .venv/.esms-installed ]; then
  echo "setup: installing Python packages into .venv"
  .venv/bin/pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/pip install -q -e ".[dev]" 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/python -c "import esms_baseline, ansible_runner, testinfra"
  touch .venv/.esms-installed
fi

# The remote-worker tests (tests/integration/test_profile_inventory_lab.py) start their own
# sshd on 127.0.0.1 for a test account: its binary is taken from Debian's openssh-server
# package WITHOUT installing it (no ssh service, no configuration or key of the control
# machine touched): the .deb is downloaded and only unpacked here.
WORKER_SSHD_DIR=/var/cache/esms-baseline/worker-sshd
if [ ! -x "$WORKER_SSHD_DIR/usr/sbin/sshd" ]; then
  echo "setup: unpacking sshd (openssh-server, not installed) into $WORKER_SSHD_DIR"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq openssh-server 2>/dev/null)
  mkdir -p "$WORKER_SSHD_DIR"
  dpkg-deb -x "$tmp"/openssh-server_*.deb "$WORKER_SSHD_DIR"
  rm -rf "$tmp"
fi
