#!/usr/bin/env bash
# Install mmsemanticmim and the pinned OpenMMLab stack into a virtual env.
#
# Usage: bash requirements/install.sh [VENV_DIR]        (default: .venv)
# Env:   MMSEMANTICMIM_WHEEL_CACHE  where the built mmcv wheel is kept
#                                   (default: ~/.cache/mmsemanticmim/wheels)
#        PYTHON                     interpreter for a new venv (python3.11)
#        MAX_JOBS                   compile jobs for mmcv's ops (2)
#
# The order matters:
#   1. torch first, so mmcv's ops compile against it (an installed CUDA torch
#      is kept: the constraint file pins 2.13.0 only for a fresh venv);
#   2. setuptools<81 (mmcv's setup.py imports pkg_resources) and wheel;
#   3. mmcv 2.1.0 has no wheels on PyPI, only an sdist: build it once with
#      its ops (about 15 minutes on 2 cores) into the wheel cache, outside the
#      repo, so later installs take about 2 minutes;
#   4. the OpenMMLab libraries, the tests' and the demo's packages, and this
#      package (editable).
set -euo pipefail

VENV=${1:-.venv}
HERE=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${MMSEMANTICMIM_WHEEL_CACHE:-$HOME/.cache/mmsemanticmim/wheels}
PIN="$HERE/requirements/pinned.txt"

if [ ! -x "$VENV/bin/python" ]; then
    "${PYTHON:-python3.11}" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP="$PY -m pip --disable-pip-version-check -q"

if ! $PY -c 'import torch' 2>/dev/null; then
    $PIP install -c "$PIN" torch
fi
$PIP install -c "$PIN" setuptools wheel ninja
$PIP install -c "$PIN" mmengine numpy

MMCV_WHEEL=$(ls "$CACHE"/mmcv-2.1.0-*.whl 2>/dev/null | head -n1 || true)
if [ -z "$MMCV_WHEEL" ]; then
    echo "[install] building mmcv 2.1.0 with CPU ops into $CACHE (about 15 minutes)"
    mkdir -p "$CACHE"
    MMCV_WITH_OPS=1 FORCE_CUDA=${FORCE_CUDA:-0} MAX_JOBS=${MAX_JOBS:-2} \
        $PIP wheel --no-build-isolation --no-deps -w "$CACHE" mmcv==2.1.0
    MMCV_WHEEL=$(ls "$CACHE"/mmcv-2.1.0-*.whl | head -n1)
fi
$PIP install --no-deps "$MMCV_WHEEL"

$PIP install -c "$PIN" \
    -r "$HERE/requirements/mminstall.txt" \
    -r "$HERE/requirements/runtime.txt" \
    -r "$HERE/requirements/tests.txt" \
    -r "$HERE/requirements/optional.txt"
$PIP install -c "$PIN" --no-build-isolation --no-deps -e "$HERE"
$PY -c 'import mmsemanticmim, torch, mmcv, mmcv.ops, mmengine, mmpretrain, mmseg, mmdet; print("[install] ok: torch", torch.__version__, "| mmcv", mmcv.__version__, "(ops) | mmengine", mmengine.__version__, "| mmpretrain", mmpretrain.__version__, "| mmseg", mmseg.__version__, "| mmdet", mmdet.__version__)'
