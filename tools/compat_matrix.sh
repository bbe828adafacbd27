#!/usr/bin/env bash
# The compatibility matrix: build each environment of requirements/matrix/ and run the fast
# test set in it (docs/compatibility.md shows the results).
#
#   bash tools/compat_matrix.sh                  # every environment
#   bash tools/compat_matrix.sh legacy           # some of them, by file name
#   bash tools/compat_matrix.sh legacy -- -x     # further arguments go to pytest
#
# Each environment is a virtual environment .venvs/<name>, created or reused by
# tools/setup_env.sh with RMT_STACK=requirements/matrix/<name>.txt (its Python, pins and mmcv
# wheel folder are written in that file). The results, one Markdown table row per
# environment, are appended to work_dirs/compat_matrix/results.md; the exit status is that of
# the last failing environment (0 when all pass).
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
NAMES=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do NAMES+=("$1"); shift; done
[ "${1:-}" = -- ] && shift
[ ${#NAMES[@]} -gt 0 ] || NAMES=($(ls requirements/matrix/*.txt | xargs -n1 basename | sed 's/\.txt$//'))
OUT="$REPO/work_dirs/compat_matrix"
mkdir -p "$OUT"
status=0
for name in "${NAMES[@]}"; do
  stack="requirements/matrix/$name.txt"
  [ -f "$stack" ] || { echo "[matrix] no $stack (the environments: $(ls requirements/matrix))" >&2; exit 2; }
  venv="$REPO/.venvs/$name"
  echo "[matrix] $name: setting up $venv ($stack)"
  if ! RMT_STACK="$REPO/$stack" RMT_VENV="$venv" bash tools/setup_env.sh; then
    echo "| $name | setup failed (see above) | | | $(date +%F) |" >> "$OUT/results.md"
    status=1
    continue
  fi
  echo "[matrix] $name: the fast test set"
  report="$OUT/$name.xml"
  "$venv/bin/python" -m pytest -m "not slow" -q -p no:cacheprovider --junitxml="$report" "$@"
  rc=$?
  [ $rc -eq 0 ] || status=$rc
  "$venv/bin/python" - "$name" "$report" "$stack" >> "$OUT/results.md" <<'PY'
import datetime, importlib, sys, xml.etree.ElementTree as ET
name, report, stack = sys.argv[1:]
suite = ET.parse(report).getroot()
suite = suite if suite.tag == 'testsuite' else suite.find('testsuite')
total, failures, errors, skipped = (int(suite.get(k, 0)) for k in
                                    ('tests', 'failures', 'errors', 'skipped'))
versions = [f'Python {sys.version.split()[0]}'] + [
    f'{module} {importlib.import_module(module).__version__}'
    for module in ('torch', 'mmcv', 'mmengine', 'mmdet', 'mmseg', 'mmpretrain')]
print(f'| {name} | {", ".join(versions)} | {total - failures - errors - skipped} passed, '
      f'{failures + errors} failed, {skipped} skipped | {datetime.date.today()} |')
PY
  tail -n1 "$OUT/results.md"
done
exit $status
