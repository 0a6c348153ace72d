#!/usr/bin/env bash
# One prepared GPU check for a single `device` run (< 10 minutes on one
# H200): throughput / memory / MFU of the four pre-training arms (eager and
# compiled), 50 shipped-AMP steps of our four ViT-B configs, one 640x640
# UperNet step. See tools/profiling/gpu_check.py.
#
#   bash tools/profiling/gpu_check.sh             # on a GPU machine
#   bash tools/profiling/gpu_check.sh --dry-run   # CPU, tiny sizes (tests)
#
# On an offline GPU machine (python3 with CUDA torch, no network): carry the
# wheels this package needs beyond what is installed there in .whl/
# (tools/profiling/gpu_kit.sh makes them); they are installed into
# $KIT_SITE (/tmp/site) first and put ahead of the machine's packages.
# Writes $OUT/gpu_check.json and $OUT/gpu_check.log when OUT is set.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && PY=.venv/bin/python
KIT_DIR=${KIT_DIR:-.whl}
if compgen -G "$KIT_DIR/*.whl" > /dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --upgrade --target "${KIT_SITE:-/tmp/site}" "$KIT_DIR"/*.whl
  export PYTHONPATH=${KIT_SITE:-/tmp/site}:$PWD${PYTHONPATH:+:$PYTHONPATH}
else
  export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONUNBUFFERED=1
out=()
[ -n "${OUT:-}" ] && out=(--out "$OUT") && mkdir -p "$OUT"
if [ -n "${OUT:-}" ]; then
  "$PY" tools/profiling/gpu_check.py "${out[@]}" "$@" 2>&1 | tee "$OUT/gpu_check.log"
else
  "$PY" tools/profiling/gpu_check.py "$@"
fi
