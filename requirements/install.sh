#!/usr/bin/env bash
# Install mmsemanticmim and a pinned OpenMMLab stack into a virtual env.
#
# Usage: bash requirements/install.sh [VENV_DIR] [STACK]
#        VENV_DIR  default .venv
#        STACK     a file of requirements/stacks/ without .txt: default
#                  (torch 2.13 CPU) or torch2.1 (torch 2.1.2, what OpenMMLab's
#                  prebuilt mmcv 2.1.0 wheels are made for)
# Env:   MMSEMANTICMIM_WHEEL_CACHE  where built mmcv wheels are kept
#                                   (default: ~/.cache/mmsemanticmim/wheels)
#        PYTHON                     interpreter for a new venv (python3.11)
#        MAX_JOBS                   compile jobs for mmcv's ops (2)
#        FORCE_CUDA                 1: build mmcv's CUDA ops
#
# The order matters:
#   1. torch first, so mmcv's ops compile against it (an installed torch,
#      e.g. a CUDA build, is kept: the stack's pins apply to a fresh venv);
#   2. setuptools<81 (mmcv's setup.py imports pkg_resources) and wheel;
#   3. mmcv 2.1.0 has no wheels on PyPI, only an sdist: build it with its ops
#      (about 10-15 minutes on 2 cores) into a wheel cache outside the repo,
#      one folder per Python, torch build and op device, so that a wheel built
#      against another torch (an undefined-symbol error at import) is never
#      reused; pip's own cache is bypassed for that build for the same reason.
#      The installed mmcv must load its compiled ops, else the wheel is
#      rebuilt once;
#   4. the OpenMMLab libraries, the tests' and the demo's packages, and this
#      package (editable: its configs, tools and model index are linked
#      into mmsemanticmim/.mim/ by setup.py).
set -euo pipefail

VENV=${1:-.venv}
STACK=${2:-${STACK:-default}}
HERE=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${MMSEMANTICMIM_WHEEL_CACHE:-$HOME/.cache/mmsemanticmim/wheels}
STACK_PIN="$HERE/requirements/stacks/$STACK.txt"
if [ ! -f "$STACK_PIN" ]; then
    echo "[install] unknown STACK '$STACK': use one of" \
        "$(cd "$HERE/requirements/stacks" && ls *.txt | sed 's/\.txt$//' | tr '\n' ' ')" >&2
    exit 2
fi
PINS=(-c "$HERE/requirements/pinned.txt" -c "$STACK_PIN")
START=$(date +%s)
step() { echo "[install] $1 ($(( $(date +%s) - START )) s)"; }

if [ ! -x "$VENV/bin/python" ]; then
    "${PYTHON:-python3.11}" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP="$PY -m pip --disable-pip-version-check -q"

if ! $PY -c 'import torch' 2>/dev/null; then
    echo "[install] torch of stack '$STACK' into $VENV"
    $PIP install "${PINS[@]}" torch
fi
# torchvision is not a requirement of the package (it is the user's, as
# torch is); the stack pins the one that matches its torch. Installed only
# where absent: a torchvision the user has is kept.
if ! $PY -c 'import importlib.util as u, sys; sys.exit(u.find_spec("torchvision") is None)'; then
    $PIP install "${PINS[@]}" torchvision
fi
step "torch ready"
$PIP install "${PINS[@]}" setuptools wheel ninja
$PIP install "${PINS[@]}" mmengine numpy

# One cache folder per (Python, torch build, op device).
KEY=$($PY -c 'import os, sys, torch
dev = "cuda" if os.environ.get("FORCE_CUDA") == "1" or torch.cuda.is_available() else "cpu"
print(f"cp{sys.version_info[0]}{sys.version_info[1]}-torch{torch.__version__}-{dev}ops")')
WHEELS="$CACHE/$KEY"

# mmcv 2.1.0 whose compiled ops load against this torch (e.g. OpenMMLab's
# prebuilt wheel for torch 2.1, installed beforehand, is kept)
mmcv_ops_load() {
    $PY -c 'import mmcv, mmcv._ext; assert mmcv.__version__ == "2.1.0"' 2>/dev/null
}

build_mmcv() {
    echo "[install] building mmcv 2.1.0 with its ops for $KEY into $WHEELS (10-15 minutes)"
    rm -rf "$WHEELS"
    mkdir -p "$WHEELS"
    MMCV_WITH_OPS=1 FORCE_CUDA=${FORCE_CUDA:-0} MAX_JOBS=${MAX_JOBS:-2} \
        $PIP wheel --no-build-isolation --no-deps --no-cache-dir -w "$WHEELS" mmcv==2.1.0
}

install_mmcv() {
    local wheel
    wheel=$(ls "$WHEELS"/mmcv-2.1.0-*.whl 2>/dev/null | head -n1 || true)
    if [ -z "$wheel" ]; then
        build_mmcv
        wheel=$(ls "$WHEELS"/mmcv-2.1.0-*.whl | head -n1)
    fi
    # --force-reinstall: an installed mmcv of the same version (built for
    # another torch) is otherwise left in place
    $PIP install --no-deps --force-reinstall --no-cache-dir "$wheel"
}

if ! mmcv_ops_load; then
    install_mmcv
    if ! mmcv_ops_load; then
        echo "[install] the cached mmcv wheel for $KEY does not load its ops; rebuilding it"
        $PY -c 'import mmcv._ext' || true
        rm -rf "$WHEELS"
        install_mmcv
    fi
fi

step "mmcv ready"
$PIP install "${PINS[@]}" \
    -r "$HERE/requirements/mminstall.txt" \
    -r "$HERE/requirements/runtime.txt" \
    -r "$HERE/requirements/tests.txt" \
    -r "$HERE/requirements/optional.txt"
$PIP install "${PINS[@]}" --no-build-isolation --no-deps -e "$HERE"
# Where torchvision's compiled part cannot load beside this torch (PyPI's
# torchvision with the CPU torch), `import torchvision` dies unless our guard
# runs first (mmsemanticmim/utils/torchvision_guard.py). A start-up line in
# the venv installs it as a hook that acts only when torchvision is first
# imported, so `import timm` works without our package; elsewhere no line.
SITE=$($PY -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
PTH="$SITE/mmsemanticmim-torchvision-guard.pth"
rm -f "$PTH"
if ! $PY -c 'import torchvision' 2>/dev/null; then
    GUARD="$HERE/mmsemanticmim/utils/torchvision_guard.py"
    $PY - "$GUARD" > "$PTH" <<'PYLINE'
import sys
print("import os, sys, importlib.util as u; "
      "n = '_mmsemanticmim_torchvision_guard'; p = %r; "
      's = n not in sys.modules and os.path.exists(p) and '
      'u.spec_from_file_location(n, p); m = s and u.module_from_spec(s); '
      's and sys.modules.setdefault(n, m); s and s.loader.exec_module(m); '
      'm and m.install_import_hook()' % sys.argv[1])
PYLINE
    $PY -c 'import timm, torchvision' || {
        echo "[install] torchvision does not import even with the guard" >&2
        exit 1
    }
    echo "[install] torchvision's compiled ops do not load here: $PTH guards its import"
fi
step "libraries and package ready"
$PY -c 'import mmcv._ext' || {
    echo "[install] mmcv's compiled ops do not load in $VENV (see above)" >&2
    exit 1
}
$PY -c 'import mmsemanticmim, torch, mmcv, mmcv.ops, mmengine, mmpretrain, mmseg, mmdet; print("[install] ok: stack '"$STACK"' | torch", torch.__version__, "| mmcv", mmcv.__version__, "(ops load) | mmengine", mmengine.__version__, "| mmpretrain", mmpretrain.__version__, "| mmseg", mmseg.__version__, "| mmdet", mmdet.__version__)'
