#!/usr/bin/env bash
# Run the whole test suite (unit, lab integration on real throwaway hosts, static checks).
# As root on a fresh Debian 12 machine: installs what it needs first (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== static checks (ruff, mypy --strict)"
ruff check esms_baseline tests bench
mypy
echo "== tests"
pytest "$@"
