#!/usr/bin/env bash
# The prepared GPU check of rmt_mm: one run, at most 9.5 minutes on one GPU (each part has a
# time limit: 240 s, then 100 s per dtype, then 120 s compiled).
#
#   1. gpu_check.py: every attn_impl against 'reference' on CUDA (fp32 to 1e-4; fp16 and bf16
#      finite, forward and backward) and the RMT-T dense 1x3x800x1216 training step per
#      implementation (seconds, peak memory);
#   2. benchmark_backbone.py: the RMT-S classifier, 64x3x224x224, fp16 and bf16, inference and
#      training img/s and peak memory for reference / auto / flex next to Swin-T and ConvNeXt-T
#      (timm's, where mmpretrain is not installed);
#   3. the same models eager and compiled (torch.compile), bf16 inference, 'auto' only.
#
# The machine needs Python with torch (CUDA) and timm; OpenMMLab packages are not required:
# where mmengine/mmcv are missing, the pure-Python wheels in build/gpu_wheels are installed
# into a private folder (nothing compiled). Prepare them once where pip reaches the registry:
#
#   bash tools/analysis_tools/gpu_check.sh --download
#
# then run on the GPU machine, with build/gpu_wheels beside the checkout (it is git-ignored):
#
#   bash tools/analysis_tools/gpu_check.sh [OUT_DIR]      # default: $OUT or work_dirs/gpu_check
#
# Results: OUT_DIR/gpu_check.json, OUT_DIR/bench_{fp16,bf16,compiled_bf16}.json and
# OUT_DIR/gpu_check.log.
# Detector checks that need mmcv's CUDA ops are not part of it.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WHEELS="$REPO/build/gpu_wheels"
PY="${PYTHON:-python3}"
GPU_WHEELS=("mmengine==0.10.7" "mmcv-lite==2.2.0" "addict==2.4.0" "yapf==0.43.0"
            "termcolor==3.3.0" "platformdirs==4.14.9")

if [ "${1:-}" = "--download" ]; then
  mkdir -p "$WHEELS"
  "$PY" -m pip download --no-deps --only-binary=:all: -d "$WHEELS" "${GPU_WHEELS[@]}"
  echo "[gpu_check] wheels in $WHEELS: $(ls "$WHEELS" | tr '\n' ' ')"
  exit 0
fi

OUT_DIR="${1:-${OUT:-$REPO/work_dirs/gpu_check}}"
mkdir -p "$OUT_DIR"
exec > >(tee "$OUT_DIR/gpu_check.log") 2>&1
export PYTHONUNBUFFERED=1

"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'gpu_check: torch sees no CUDA device')"
if ! "$PY" -c "import mmengine, mmcv.cnn" >/dev/null 2>&1; then
  ls "$WHEELS"/*.whl >/dev/null 2>&1 || {
    echo "gpu_check: mmengine/mmcv are not installed and $WHEELS holds no wheels;" \
         "run 'bash tools/analysis_tools/gpu_check.sh --download' where pip works" >&2; exit 1; }
  SITE="$(mktemp -d)/site"
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$SITE" \
    "$WHEELS"/*.whl
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
cd "$REPO"
"$PY" -c "import torch, mmengine, mmcv; print(f'[gpu_check] {torch.cuda.get_device_name()}, torch {torch.__version__}, mmengine {mmengine.__version__}, mmcv {mmcv.__version__}')"

STATUS=0
timeout 240 "$PY" tools/analysis_tools/gpu_check.py --output-dir "$OUT_DIR" || STATUS=$?

if "$PY" -c "import mmpretrain" >/dev/null 2>&1; then
  PEERS=(SwinTransformer:tiny ConvNeXt:tiny)
else
  PEERS=(timm:swin_tiny_patch4_window7_224 timm:convnext_tiny)
fi
for DTYPE in bf16 fp16; do
  timeout 100 "$PY" tools/analysis_tools/benchmark_backbone.py --device cuda --arch s \
    --classifier --shape 224 224 --batch 64 --dtype "$DTYPE" --impls reference auto flex \
    --peers "${PEERS[@]}" --warmup 3 --runs 10 --out "$OUT_DIR/bench_$DTYPE.json" || STATUS=$?
done
timeout 120 "$PY" tools/analysis_tools/benchmark_backbone.py --device cuda --arch s \
  --classifier --shape 224 224 --batch 64 --dtype bf16 --impls auto --modes infer --compile \
  --no-memory --peers "${PEERS[@]}" --warmup 3 --runs 10 \
  --out "$OUT_DIR/bench_compiled_bf16.json" || STATUS=$?
echo "[gpu_check] finished with status $STATUS; results in $OUT_DIR"
exit $STATUS
