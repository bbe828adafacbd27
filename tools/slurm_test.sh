#!/usr/bin/env bash
# bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py options]
#   (GPUS, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS as in slurm_launch.sh)
exec bash "$(dirname "$0")/slurm_launch.sh" "$1" "$2" test.py "$3" "$4" "${@:5}"
