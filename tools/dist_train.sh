#!/usr/bin/env bash
# Usage: [NNODES=1] [NODE_RANK=0] [MASTER_ADDR=127.0.0.1] [PORT=29500] \
#        [PYTHON=...] bash tools/dist_train.sh CONFIG GPUS_PER_NODE [train.py options]
# Multi-node: run it once on every node with the same NNODES, MASTER_ADDR
# (node 0's address) and PORT, and NODE_RANK 0..NNODES-1; GPUS_PER_NODE
# processes start on each node. On CPU init_distributed
# (mmsemanticmim/engine/launch.py) uses gloo. The
# interpreter: $PYTHON, else the active venv, else the project's .venv
# (tools/find_python.sh says which).
set -euo pipefail
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
HERE=$(cd "$(dirname "$0")/.." && pwd)
source "$HERE/tools/find_python.sh"

PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}" \
exec "$PY" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$HERE/tools/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
