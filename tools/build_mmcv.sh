#!/usr/bin/env bash
# Build an mmcv wheel with compiled ops from its PyPI sdist, against the torch of PYTHON.
#
#   bash tools/build_mmcv.sh PYTHON OUT_DIR
#
# tools/setup_env.sh calls it when no prebuilt wheel fits; it can also be run on its own (the
# recipe and the measured build times are in docs/install_gpu.md).
#
# Environment variables:
#   RMT_CUDA              1: CUDA ops (needs a CUDA build of torch, not a GPU), 0: CPU ops only
#                         (default 0)
#   RMT_NVCC              auto: a system nvcc of torch's CUDA version (CUDA_HOME, then PATH),
#                         else pip's CUDA compiler packages of exactly that version installed
#                         into PYTHON's environment; system: only the former; pip: only the
#                         latter (default auto)
#   TORCH_CUDA_ARCH_LIST  GPU architectures to compile for (default: those of the visible GPUs;
#                         with none visible, "8.0;9.0+PTX": A100, H100/H200, and PTX that newer
#                         GPUs compile at load time)
#   MAX_JOBS              parallel compiler jobs (default: the number of cores)
#   MMCV_VERSION          default 2.1.0
#   RMT_MMCV_BUILD_DIR    keep the unpacked sources and compiled objects here, so that a rerun
#                         after a failure compiles only what is left (default: a temporary
#                         folder, removed afterwards)
set -euo pipefail

PY=$1
OUT=$2
MMCV_VERSION="${MMCV_VERSION:-2.1.0}"
CUDA="${RMT_CUDA:-0}"
say() { echo "[build_mmcv] $*"; }
die() { echo "[build_mmcv] error: $*" >&2; exit 1; }

if [ -n "${RMT_MMCV_BUILD_DIR:-}" ]; then
  BUILD="$RMT_MMCV_BUILD_DIR"
  mkdir -p "$BUILD"
else
  BUILD="$(mktemp -d)"
  trap 'rm -rf "$BUILD"' EXIT
fi
mkdir -p "$OUT"

if [ "$CUDA" = 1 ]; then
  TORCH_CUDA="$("$PY" -c 'import torch; print(torch.version.cuda or "")')"
  [ -n "$TORCH_CUDA" ] || die "RMT_CUDA=1 but $("$PY" -c 'import torch; print(torch.__version__)') \
is a CPU build of torch; install a CUDA build (tools/setup_env.sh does) or build with RMT_CUDA=0"
  nvcc_release() { "$1" --version 2>/dev/null | sed -n 's/.*release \([0-9]*\.[0-9]*\).*/\1/p'; }
  NVCC=""
  if [ "${RMT_NVCC:-auto}" != pip ]; then
    for candidate in "${CUDA_HOME:+$CUDA_HOME/bin/nvcc}" "$(command -v nvcc || true)"; do
      [ -n "$candidate" ] && [ -x "$candidate" ] || continue
      release="$(nvcc_release "$candidate")"
      if [ "$release" = "$TORCH_CUDA" ]; then
        NVCC="$(readlink -f "$candidate")"
        break
      fi
      say "ignoring $candidate: CUDA $release, torch was built with CUDA $TORCH_CUDA"
    done
    [ -n "$NVCC" ] || [ "${RMT_NVCC:-auto}" != system ] || \
      die "RMT_NVCC=system but no nvcc of CUDA $TORCH_CUDA was found (CUDA_HOME, PATH)"
  fi
  if [ -z "$NVCC" ]; then
    # pip's CUDA compiler packages, pinned to torch's CUDA minor version: unpinned, pip takes
    # newer runtime/crt headers and CCCL stops with "CUDA compiler and CUDA toolkit headers are
    # incompatible".
    MAJOR="${TORCH_CUDA%%.*}"
    case "$MAJOR" in
      13) PACKAGES=(nvidia-cuda-nvcc nvidia-cuda-cccl nvidia-cuda-runtime nvidia-cuda-crt
                    nvidia-nvvm) ;;
      12) PACKAGES=(nvidia-cuda-nvcc-cu12 nvidia-cuda-cccl-cu12 nvidia-cuda-runtime-cu12) ;;
      *) die "no pip CUDA compiler packages are known for CUDA $TORCH_CUDA; install a CUDA \
$TORCH_CUDA toolkit and set CUDA_HOME" ;;
    esac
    say "installing pip's CUDA $TORCH_CUDA compiler packages (no system CUDA toolkit needed)"
    "$PY" -m pip install --disable-pip-version-check -q \
      "${PACKAGES[@]/%/==$TORCH_CUDA.*}"
    SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    NVCC="$(ls "$SITE"/nvidia/cu"$MAJOR"/bin/nvcc "$SITE"/nvidia/cuda_nvcc/bin/nvcc 2>/dev/null \
            | head -n1 || true)"
    [ -n "$NVCC" ] || die "pip installed ${PACKAGES[*]} but no nvcc was found under $SITE/nvidia"
    chmod +x "$(dirname "$NVCC")"/* 2>/dev/null || true
    # torch links extensions with -lcudart; pip's runtime package ships only the versioned
    # libcudart.so.N, so the linker gets an unversioned name in a folder of the build's own.
    CUDART="$(ls "$(dirname "$(dirname "$NVCC")")"/lib/libcudart.so.* 2>/dev/null | head -n1 || true)"
    [ -n "$CUDART" ] || die "no libcudart.so.* next to $NVCC (nvidia-cuda-runtime)"
    mkdir -p "$BUILD/link"
    ln -sf "$CUDART" "$BUILD/link/libcudart.so"
    export LIBRARY_PATH="$BUILD/link${LIBRARY_PATH:+:$LIBRARY_PATH}"
  fi
  export CUDA_HOME
  CUDA_HOME="$(dirname "$(dirname "$NVCC")")"
  export PATH="$CUDA_HOME/bin:$PATH"
  say "nvcc: $NVCC (CUDA $(nvcc_release "$NVCC"), torch: CUDA $TORCH_CUDA)"
  if [ -z "${TORCH_CUDA_ARCH_LIST:-}" ]; then
    TORCH_CUDA_ARCH_LIST="$("$PY" -c 'import torch
caps = sorted({torch.cuda.get_device_capability(i) for i in range(torch.cuda.device_count())})
print(";".join(f"{a}.{b}" for a, b in caps))' 2>/dev/null || true)"
    TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-8.0;9.0+PTX}"
  fi
  export TORCH_CUDA_ARCH_LIST
  say "GPU architectures: $TORCH_CUDA_ARCH_LIST"
fi

SRC="$BUILD/mmcv-$MMCV_VERSION"
if [ ! -f "$SRC/setup.py" ]; then
  say "downloading the mmcv $MMCV_VERSION sdist"
  "$PY" -m pip download --disable-pip-version-check -q --no-deps --no-binary :all: \
    --no-build-isolation -d "$BUILD" "mmcv==$MMCV_VERSION"
  tar -xzf "$BUILD/mmcv-$MMCV_VERSION.tar.gz" -C "$BUILD"
fi
# torch >= 2.6 headers need C++20; mmcv 2.1.0 asks for C++14/17 (host and nvcc flags alike).
sed -i -e 's/-std=c++14/-std=c++20/g' -e 's/-std=c++17/-std=c++20/g' "$SRC/setup.py"

JOBS="${MAX_JOBS:-$(nproc)}"
say "compiling ($([ "$CUDA" = 1 ] && echo "CUDA and CPU ops" || echo "CPU ops"), $JOBS jobs)"
START=$SECONDS
MMCV_WITH_OPS=1 FORCE_CUDA="$CUDA" MAX_JOBS="$JOBS" \
  "$PY" -m pip wheel --disable-pip-version-check --no-build-isolation --no-deps -w "$OUT" "$SRC"
say "built $(ls "$OUT"/mmcv-"$MMCV_VERSION"-*.whl) in $(( (SECONDS - START) / 60 )) min"
