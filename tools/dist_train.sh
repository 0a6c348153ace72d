#!/usr/bin/env bash
# Usage: [NNODES=1] [NODE_RANK=0] [MASTER_ADDR=127.0.0.1] [PORT=29500] \
#        bash tools/dist_train.sh CONFIG GPUS_PER_NODE [train.py options]
# Multi-node: run it once on every node with the same NNODES, MASTER_ADDR
# (node 0's address) and PORT, and NODE_RANK 0..NNODES-1; GPUS_PER_NODE
# processes start on each node. On CPU the compat layer uses gloo.
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}

PYTHONPATH="$(dirname $0)/..":$PYTHONPATH \
${PYTHON:-python} -m torch.distributed.run \
    --nnodes=$NNODES \
    --node_rank=$NODE_RANK \
    --master_addr=$MASTER_ADDR \
    --nproc_per_node=$GPUS \
    --master_port=$PORT \
    $(dirname "$0")/train.py \
    $CONFIG \
    --launcher pytorch ${@:3}
