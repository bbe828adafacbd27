#!/usr/bin/env bash
# Whether mmcv should be built with CUDA ops for the torch of PYTHON: prints 1 or 0.
#
#   bash tools/detect_cuda.sh PYTHON
#
# RMT_CUDA=1/0 decides; otherwise 1 when torch sees a GPU. When nvidia-smi lists GPUs that
# torch cannot use (a driver older than torch's CUDA needs), it fails with what to do instead
# of quietly choosing CPU ops.
set -euo pipefail
PY=$1
if [ -n "${RMT_CUDA:-}" ]; then
  echo "$RMT_CUDA"
  exit 0
fi
read -r SEES TORCH TORCH_CUDA < <("$PY" -c 'import torch
print(int(torch.cuda.is_available()), torch.__version__, torch.version.cuda or "none")')
if [ "$SEES" = 1 ]; then
  echo 1
  exit 0
fi
GPUS="$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)"
if [ "${GPUS:-0}" -gt 0 ]; then
  DRIVER="$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -n1)"
  cat >&2 <<MSG
[setup] nvidia-smi lists $GPUS GPU(s) (driver ${DRIVER:-unknown}), but torch $TORCH (CUDA
[setup] $TORCH_CUDA) cannot use them: the driver is older than CUDA $TORCH_CUDA needs (CUDA 13.0:
[setup] driver >= 580), or torch is a CPU build. Either update the driver, or install torch
[setup] for the CUDA your driver supports (nvidia-smi's "CUDA Version") and build mmcv for it:
[setup]   RMT_TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 bash tools/setup_env.sh
[setup] To set up CPU ops only anyway: RMT_CUDA=0 bash tools/setup_env.sh
MSG
  exit 3
fi
echo 0
