#!/usr/bin/env bash
# Create or reuse the project's virtual environment (.venv) with the pinned OpenMMLab stack
# (requirements/stack.txt), or with another stack of the compatibility matrix (RMT_STACK).
#
# Idempotent: a stamp file records the hash of this script and of setup.py; when both are
# unchanged and the venv imports cleanly, nothing is reinstalled.
#
# Environment variables:
#   RMT_VENV        where the venv lives (default: <repo>/.venv)
#   RMT_STACK       the stack to install (default: requirements/stack.txt; the matrix's are in
#                   requirements/matrix/): its pins, its Python (a "# python: X.Y" line) and
#                   the folder of its prebuilt mmcv wheel under RMT_WHEELS_DIR (a
#                   "# mmcv wheel folder: NAME" line; "none": always build mmcv); its pins
#                   win over tests.txt's
#   RMT_PYTHON      interpreter used to create it (default: pythonX.Y of the stack)
#   RMT_WHEELS_DIR  folder searched for a prebuilt mmcv wheel (default: <repo>/../shared/wheels)
#   RMT_CUDA        1: build mmcv with CUDA ops (also without a GPU: needs a CUDA compiler,
#                   which tools/build_mmcv.sh takes from the system when its CUDA version is
#                   torch's, else from pip), 0: CPU ops (default: 1 when torch sees a GPU;
#                   GPUs that torch cannot use stop the setup with what to do,
#                   tools/detect_cuda.sh). The prebuilt wheel holds CPU ops only, so it is
#                   never used with CUDA. TORCH_CUDA_ARCH_LIST, MAX_JOBS: see build_mmcv.sh.
#   RMT_TORCH_INDEX_URL  install torch and torchvision from this index instead of PyPI, e.g.
#                   https://download.pytorch.org/whl/cu128 for a driver older than CUDA 13.0
#                   needs (torch from PyPI is built for CUDA 13.0)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${RMT_VENV:-$REPO/.venv}"
WHEELS_DIR="${RMT_WHEELS_DIR:-$REPO/../shared/wheels}"
REQ="$REPO/requirements"
STACK="${RMT_STACK:-$REQ/stack.txt}"
pin() { sed -n "s/^$1==//p" "$STACK"; }  # the version the stack pins
PYTHON_VERSION="$(sed -n 's/^# python: *//p' "$STACK")"
WHEEL_FOLDER="$(sed -n 's/^# mmcv wheel folder: *//p' "$STACK")"
[ -n "$PYTHON_VERSION" ] || { echo "[setup] $STACK has no '# python: X.Y' line" >&2; exit 1; }
TORCH_VERSION="$(pin torch)"
TORCHVISION_VERSION="$(pin torchvision)"
MMCV_VERSION="$(pin mmcv)"

STEP=""
step() { STEP="$1"; echo "[setup] $1 ..."; }
trap 'rc=$?; [ $rc -ne 0 ] && echo "[setup] FAILED at step: ${STEP} (exit $rc). Fix the cause above and rerun; finished steps are reused." >&2' EXIT

stamp_value() {
  { cat "$REPO/tools/setup_env.sh" "$REPO/tools/build_mmcv.sh" "$REPO/tools/detect_cuda.sh" \
      "$REPO/setup.py" "$REQ"/*.txt "$STACK"; echo "${RMT_CUDA:-} ${RMT_TORCH_INDEX_URL:-}"; } \
    | sha256sum | cut -d' ' -f1
}
STAMP="$VENV/.rmt_mm_stamp"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(stamp_value)" ] && \
   "$VENV/bin/python" -c "import torch, mmcv.ops, mmdet, mmseg, mmpretrain, rmt_mm" >/dev/null 2>&1; then
  echo "[setup] reusing $VENV (up to date)"
  trap - EXIT
  exit 0
fi

step "create virtual environment at $VENV"
if [ ! -x "$VENV/bin/python" ]; then
  # pythonX.Y on PATH if it runs (a pyenv shim of a version not selected does not), else
  # pyenv's newest X.Y.
  find_python() {
    local candidate
    for candidate in "$(command -v "python$1" || true)" \
        "$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$1".*/bin/python 2>/dev/null | sort -V | tail -n1)"; do
      if [ -n "$candidate" ] && "$candidate" -c pass 2>/dev/null; then echo "$candidate"; return; fi
    done
    command -v python3
  }
  PY="${RMT_PYTHON:-$(find_python "$PYTHON_VERSION")}"
  "$PY" -c "import sys; assert '%d.%d' % sys.version_info[:2] == '$PYTHON_VERSION', f'Python $PYTHON_VERSION is required ($STACK), {sys.executable} is {sys.version.split()[0]}'"
  "$PY" -m venv "$VENV"
fi
pip_install() {
  # pip warns about every local index folder that lacks a package; those lines are noise.
  # The stack's lines constrain every install (e.g. numpy<2 beside torch 2.1).
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q -c "$STACK" "$@" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}
PIP=(pip_install)

step "install build tools (pip, setuptools<82, wheel, ninja)"
"${PIP[@]}" --upgrade pip "setuptools<82" wheel ninja numpy

step "install torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION${RMT_TORCH_INDEX_URL:+ from $RMT_TORCH_INDEX_URL}"
if [ -n "${RMT_TORCH_INDEX_URL:-}" ]; then
  "${PIP[@]}" --force-reinstall --index-url "$RMT_TORCH_INDEX_URL" \
    --extra-index-url https://pypi.org/simple "torch==$TORCH_VERSION" \
    "torchvision==$TORCHVISION_VERSION"
else
  "${PIP[@]}" "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
fi

step "detect CUDA"
CUDA="$(bash "$REPO/tools/detect_cuda.sh" "$VENV/bin/python")"
echo "[setup]   CUDA ops for mmcv: $([ "$CUDA" = 1 ] && echo "yes (torch: CUDA $("$VENV/bin/python" -c 'import torch; print(torch.version.cuda)'))" || echo no)"
# mmcv reports 'not available' as its compiling CUDA version when its ops are CPU-only.
MMCV_CHECK="import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'"
if [ "$CUDA" = 1 ]; then
  MMCV_CHECK="$MMCV_CHECK; assert mmcv.ops.get_compiling_cuda_version() != 'not available'"
fi

step "install mmcv==$MMCV_VERSION with compiled ops"
if "$VENV/bin/python" -c "$MMCV_CHECK" >/dev/null 2>&1; then
  echo "[setup]   mmcv $MMCV_VERSION with ops already installed"
else
  WHEEL=""
  TAG="$("$VENV/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
  ARCH="$(uname -m)"
  if [ "$CUDA" = 1 ]; then
    echo "[setup]   a GPU is present: the prebuilt wheel has CPU ops only, building with CUDA ops"
  elif [ -d "$WHEELS_DIR/$WHEEL_FOLDER" ]; then
    WHEEL="$(ls "$WHEELS_DIR/$WHEEL_FOLDER"/mmcv-${MMCV_VERSION}-${TAG}-${TAG}-linux_${ARCH}.whl 2>/dev/null | head -n1 || true)"
  fi
  if [ -n "$WHEEL" ]; then
    echo "[setup]   using prebuilt wheel $WHEEL"
    "${PIP[@]}" --no-deps "$WHEEL"
  else
    if [ "$CUDA" = 1 ]; then
      echo "[setup]   building mmcv $MMCV_VERSION with CUDA ops (87 CPU-minutes per GPU architecture: at least 6 minutes on 16 cores, over an hour on 2; docs/install_gpu.md)"
    else
      echo "[setup]   no matching wheel in $WHEELS_DIR: building mmcv $MMCV_VERSION from source (20-60 minutes on 2 cores)"
    fi
    DIST="$(mktemp -d)"
    RMT_CUDA="$CUDA" MMCV_VERSION="$MMCV_VERSION" bash "$REPO/tools/build_mmcv.sh" "$VENV/bin/python" "$DIST"
    "${PIP[@]}" --no-deps "$DIST"/mmcv-${MMCV_VERSION}-*.whl
    rm -rf "$DIST"
  fi
  # mmcv's runtime dependencies (the wheel was installed without them).
  "${PIP[@]}" addict packaging Pillow pyyaml yapf opencv-python
fi

step "install the OpenMMLab stack (mmengine, mmdet, mmseg, mmpretrain) and test tools"
# tests.txt without what the stack pins itself (an older stack needs older onnxruntime).
TESTS_REQ="$(mktemp)"
grep -v -E "^($(sed -n 's/^\([A-Za-z0-9_.-]*\)==.*/\1/p' "$STACK" | paste -sd'|'))==" \
  "$REQ/tests.txt" > "$TESTS_REQ" || true
"${PIP[@]}" -r "$STACK" -r "$REQ/runtime.txt" -r "$TESTS_REQ"
rm -f "$TESTS_REQ"

step "install rmt_mm (editable)"
"${PIP[@]}" --no-deps --no-build-isolation -e "$REPO"

step "check the environment"
RMT_CUDA_OPS="$CUDA" STACK_FILE="$STACK" "$VENV/bin/python" - <<'PY'
import importlib, os
import torch, torchvision, mmcv, mmengine, mmdet, mmseg, mmpretrain
from mmcv.ops import nms, RoIAlign, get_compiling_cuda_version  # compiled ops must import
import rmt_mm
if os.environ["RMT_CUDA_OPS"] == "1" and get_compiling_cuda_version() == "not available":
    raise SystemExit("[setup]   CUDA ops were asked for but mmcv's ops were built without "
                     "CUDA; remove mmcv (pip uninstall mmcv) and rerun")
modules = {"mmsegmentation": "mmseg"}  # distribution -> import name
pinned = dict(line.strip().split("==") for line in open(os.environ["STACK_FILE"])
              if "==" in line and not line.startswith("#"))
pinned = {modules.get(name, name): version for name, version in pinned.items()}
found = {name: importlib.import_module(name).__version__ for name in pinned}
wrong = [f"{name} {found[name]} (pinned: {want})" for name, want in pinned.items()
         if found[name].split("+")[0] != want]
if wrong:
    raise SystemExit("[setup]   wrong versions in the environment: " + ", ".join(wrong))
print(f"[setup]   torch {torch.__version__}, torchvision {torchvision.__version__}, mmcv {mmcv.__version__}, "
      f"mmengine {mmengine.__version__}, mmdet {mmdet.__version__}, mmseg {mmseg.__version__}, "
      f"mmpretrain {mmpretrain.__version__}, rmt_mm {rmt_mm.__version__}")
PY
stamp_value > "$STAMP"
trap - EXIT
echo "[setup] done: $VENV"
