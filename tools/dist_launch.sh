#!/usr/bin/env bash
# torchrun launcher shared by dist_train.sh and dist_test.sh:
#   bash tools/dist_launch.sh SCRIPT NPROC_PER_NODE [SCRIPT arguments]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on every node. A CPU job is asked
# for with the script's --device cpu (the processes then use gloo). The interpreter is the
# one the user runs (`python` on PATH, as mmdet's launchers), or PYTHON.
set -euo pipefail
SCRIPT=$1
NPROC=$2
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON=${PYTHON:-python}

PYTHONPATH="$ROOT:${PYTHONPATH:-}" OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} \
"$PYTHON" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --master_port="${PORT:-29500}" \
    --nproc_per_node="$NPROC" \
    "$ROOT/tools/$SCRIPT" "${@:3}" --launcher pytorch
