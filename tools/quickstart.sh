#!/usr/bin/env bash
# The main job on embedded data: set up the environment if needed, then run tools/quickstart.py.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$REPO/tools/setup_env.sh"
VENV="${RMT_VENV:-$REPO/.venv}"
cd "$REPO"
exec "$VENV/bin/python" tools/quickstart.py "$@"
