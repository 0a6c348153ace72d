#!/usr/bin/env bash
# Run a downstream benchmark (classification, segmentation or detection
# config) from a pre-training checkpoint in one command.
#
# Usage: bash tools/benchmarks/dist_train_downstream.sh CONFIG PRETRAIN GPUS [train.py options]
#   PRETRAIN  a SemanticMIM pre-training checkpoint (its encoder is under
#             'backbone.'), or an extracted backbone with PREFIX= (empty)
#   GPUS      processes to launch with torchrun; 0 runs tools/train.py alone
# Env: PREFIX (default 'backbone.'), PYTHON (else the active venv, else the
#      project's .venv), PORT, plus dist_train.sh's.
set -euo pipefail
CONFIG=$1
PRETRAIN=$2
GPUS=$3
PREFIX=${PREFIX-backbone.}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
if [ ! -f "$PRETRAIN" ]; then
    echo "pre-training checkpoint $PRETRAIN not found" >&2
    exit 2
fi
# train.py's own options, not --cfg-options: a path survives as it is
# (mmengine's key=value parsing drops spaces)
OPTS=(--pretrained "$PRETRAIN" --pretrained-prefix "$PREFIX")
if [ "$GPUS" -eq 0 ]; then
    source "$HERE/tools/find_python.sh"
    exec "$PY" "$HERE/tools/train.py" "$CONFIG" "${@:4}" "${OPTS[@]}"
fi
exec bash "$HERE/tools/dist_train.sh" "$CONFIG" "$GPUS" "${@:4}" "${OPTS[@]}"
