#!/usr/bin/env bash
# The GPU kit: download, here, the wheels an offline GPU machine lacks
# (requirements/gpu_kit.txt; for Python 3.12 manylinux x86_64) into DIR
# (default .whl, git-ignored), check that it stays under 40 MiB, and list it.
#
#   bash tools/profiling/gpu_kit.sh [DIR]
#
# Then, on the GPU machine (with DIR copied next to the checkout), gpu_check.sh
# installs them into /tmp/site and puts it first on PYTHONPATH:
#   bash tools/profiling/gpu_check.sh          # OUT=$OUT for the figures
# Env: PYTHON (python3): the interpreter whose pip downloads.
#      KIT_PYTHON (3.12): the Python version the wheels are for (3.11 makes
#      the same kit for a Python 3.11 mirror venv).
set -euo pipefail
cd "$(dirname "$0")/../.."
DIR=${1:-.whl}
PY=${PYTHON:-python3}
KIT_PYTHON=${KIT_PYTHON:-3.12}
LIMIT_MIB=40
mkdir -p "$DIR"
rm -f "$DIR"/*.whl
reqs=$(grep -v '^\s*#' requirements/gpu_kit.txt | sed 's/#.*//' | xargs)
# shellcheck disable=SC2086
"$PY" -m pip download -q --disable-pip-version-check --no-deps \
    --only-binary=:all: --python-version "$KIT_PYTHON" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux1_x86_64 -d "$DIR" $reqs
count=$(ls "$DIR"/*.whl | wc -l)
want=$(echo "$reqs" | wc -w)
if [ "$count" -ne "$want" ]; then
    echo "[gpu_kit] expected $want wheels in $DIR, found $count" >&2
    exit 1
fi
bytes=$(cat "$DIR"/*.whl | wc -c)
ls -1 "$DIR"
echo "[gpu_kit] $count wheels, $(( bytes / 1024 )) KiB in $DIR (limit ${LIMIT_MIB} MiB)"
if [ "$bytes" -gt $(( LIMIT_MIB * 1024 * 1024 )) ]; then
    echo "[gpu_kit] over ${LIMIT_MIB} MiB" >&2
    exit 1
fi
