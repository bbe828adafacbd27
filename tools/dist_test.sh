#!/usr/bin/env bash
# bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py options]   (NNODES, NODE_RANK, ...)
exec bash "$(dirname "$0")/dist_launch.sh" test.py "$3" "$1" "$2" "${@:4}"
