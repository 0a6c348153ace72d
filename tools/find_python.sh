# Sourced by the launch scripts: sets PY, the interpreter they run, and says
# which on stderr. In order: $PYTHON; the active virtual env
# ($VIRTUAL_ENV); the checkout's .venv (what `make` installs); python3 on
# PATH. Reads nothing else and changes nothing.
_here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -n "${PYTHON:-}" ]; then
    PY=$PYTHON
    _why='$PYTHON'
elif [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
    PY=$VIRTUAL_ENV/bin/python
    _why='the active virtual env'
elif [ -x "$_here/.venv/bin/python" ]; then
    PY=$_here/.venv/bin/python
    _why="the project's .venv"
else
    PY=python3
    _why='PATH (no .venv here: run make install, or set PYTHON=)'
fi
echo "[$(basename "$0")] python: $PY (from $_why)" >&2
unset _here _why
