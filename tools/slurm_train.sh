#!/usr/bin/env bash
# bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py options]
#   (GPUS, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS as in slurm_launch.sh)
exec bash "$(dirname "$0")/slurm_launch.sh" "$1" "$2" train.py "$3" --work-dir "$4" "${@:5}"
