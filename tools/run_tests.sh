#!/usr/bin/env bash
# Lint (ruff) and run the test suite, creating or reusing the project's environment first.
#   bash tools/run_tests.sh                 # everything
#   bash tools/run_tests.sh -m "not slow"   # the fast set
# Extra arguments go to pytest.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$REPO/tools/setup_env.sh"
VENV="${RMT_VENV:-$REPO/.venv}"
cd "$REPO"
echo "[tests] ruff check (ruff.toml)"
"$VENV/bin/ruff" check rmt_mm tests tools configs setup.py
echo "[tests] running pytest $*"
exec "$VENV/bin/python" -m pytest "$@"
