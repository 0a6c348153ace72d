#!/usr/bin/env bash
# `make demo`: pre-train the tiny SemanticMIM-MaskFeat on the embedded digits.
# Usage: bash tools/demo.sh [WORK_DIR]  (uses the venv in $VENV, default .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${VENV:-.venv}/bin/python
WORK_DIR=${1:-work_dirs/demo}
DATA=data/mnist_demo
CONFIG=configs/semanticmim/semanticmim-maskfeat_vit-tiny-p4_1xb64-coslr-10e_mnist-demo.py

if [ ! -d "$DATA/train" ]; then
    $PY tools/dataset_converters/mnist_to_folder.py "$DATA"
fi
$PY tools/train.py "$CONFIG" --work-dir "$WORK_DIR" \
    --cfg-options train_dataloader.dataset.data_root="$DATA" "${@:2}"
echo "[demo] checkpoint: $(cat "$WORK_DIR/last_checkpoint")"
