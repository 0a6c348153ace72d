"""Where checkpoint code lives and what may import what: the checkpoint
package is one home with no cycle and no import hidden in a function, and
the engine knows no concrete model."""
import ast
import glob
import os.path as osp
import subprocess
import sys

import pytest

from helpers import REPO

PACKAGE = osp.join(REPO, 'mmsemanticmim')


def _modules(folder: str):
    return sorted(
        glob.glob(osp.join(PACKAGE, folder, '**', '*.py'), recursive=True))


def _imports(path: str):
    """(module imported, whether inside a function) for each import."""
    tree = ast.parse(open(path).read())
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inside.update(
                id(n) for n in ast.walk(node)
                if isinstance(n, (ast.Import, ast.ImportFrom)))
    package = osp.relpath(osp.dirname(path), REPO).replace(osp.sep, '.')
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                parts = package.split('.')
                parts = parts[:len(parts) - node.level + 1]
                base = '.'.join(parts + ([base] if base else []))
            names = [base]
        else:
            continue
        for name in names:
            yield name, id(node) in inside


def test_checkpoint_package_imports_no_model_and_nothing_in_functions():
    for path in _modules('checkpoint'):
        for name, in_function in _imports(path):
            assert not name.startswith('mmsemanticmim.models'), (path, name)
            assert not (in_function and name.startswith('mmsemanticmim')), \
                (path, name)


def test_engine_knows_no_concrete_model():
    for path in _modules('engine'):
        for name, _ in _imports(path):
            assert not name.startswith('mmsemanticmim.models'), (path, name)


@pytest.mark.parametrize('module', [
    osp.relpath(p, REPO)[:-3].replace(osp.sep, '.')
    for p in _modules('checkpoint') if not p.endswith('__init__.py')
])
def test_each_checkpoint_module_imports_first(module):
    """Imported first in a fresh interpreter (the package's own import
    order cannot hide a cycle)."""
    run = subprocess.run([sys.executable, '-c', f'import {module}'],
                         capture_output=True,
                         text=True,
                         cwd=REPO)
    assert run.returncode == 0, run.stderr[-2000:]


def test_checkpoint_code_lives_in_one_package():
    """No module outside ``mmsemanticmim/checkpoint`` reads, writes or
    converts checkpoint files on its own (they all call this package)."""
    moved = [
        'utils/checkpoint_file.py', 'engine/checkpoints.py',
        'models/backbones/checkpoint_meta.py',
        'models/reference_checkpoint.py', 'models/backbones/timm_interop.py',
        'models/backbones/timm_files.py', 'models/backbones/onnx_export.py'
    ]
    assert not [m for m in moved if osp.exists(osp.join(PACKAGE, m))]
    for path in glob.glob(osp.join(PACKAGE, '**', '*.py'), recursive=True):
        if f'{osp.sep}checkpoint{osp.sep}' in path:
            continue
        code = ''.join(
            line.split('#')[0] for line in open(path) if '``' not in line)
        for call in ('torch.load(', 'torch.save(', 'def to_weights_only',
                     'def from_weights_only'):
            assert call not in code, (path, call)
