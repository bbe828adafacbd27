#!/usr/bin/env bash
# bash tools/dist_train.sh CONFIG GPUS [train.py options]   (NNODES, NODE_RANK, MASTER_ADDR, PORT)
# On CPU (gloo): bash tools/dist_train.sh CONFIG 2 --device cpu
exec bash "$(dirname "$0")/dist_launch.sh" train.py "$2" "$1" "${@:3}"
