#!/usr/bin/env bash
# Usage: [GPUS=16] [GPUS_PER_NODE=8] bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py options]
# One task per GPU; srun spreads GPUS tasks over GPUS/GPUS_PER_NODE nodes and
# mmengine's slurm launcher reads the rank, world size and master address
# from slurm's environment. DRY_RUN=1 prints the srun command instead of
# running it (to check a multi-node line without slurm). The interpreter:
# $PYTHON, else the active venv, else the project's .venv.
set -euo pipefail

PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-$(( GPUS < 8 ? GPUS : 8 ))}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
if (( GPUS % GPUS_PER_NODE )); then
    echo "GPUS=$GPUS is not a multiple of GPUS_PER_NODE=$GPUS_PER_NODE" >&2
    exit 2
fi
NODES=$(( GPUS / GPUS_PER_NODE ))
HERE=$(cd "$(dirname "$0")/.." && pwd)
source "$HERE/tools/find_python.sh"

CMD=(srun -p "$PARTITION"
     --job-name="$JOB_NAME"
     --nodes="$NODES"
     --gres=gpu:"$GPUS_PER_NODE"
     --ntasks="$GPUS"
     --ntasks-per-node="$GPUS_PER_NODE"
     --cpus-per-task="$CPUS_PER_TASK"
     --kill-on-bad-exit=1
     $SRUN_ARGS
     "$PY" -u "$HERE/tools/train.py" "$CONFIG"
     --work-dir="$WORK_DIR" --launcher=slurm "${@:5}")
if [ "${DRY_RUN:-0}" = 1 ]; then
    echo "PYTHONPATH=$HERE:${PYTHONPATH:-} ${CMD[*]}"
    exit 0
fi
PYTHONPATH="$HERE":${PYTHONPATH:-} exec "${CMD[@]}"
