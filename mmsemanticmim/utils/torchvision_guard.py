"""Let ``import torchvision`` succeed when its compiled ops cannot load.

PyPI's torchvision ``_C.so`` links libtorch_cuda, which the CPU torch wheel
lacks; torchvision then runs without its C++ ops, but its
``_meta_registrations.py`` registers fakes for ``torchvision::nms`` and
``torchvision::qnms`` without the ``_has_ops()`` guard the other ops get, and
the import dies with "operator torchvision::nms does not exist"
(pytorch/vision#9085). Defining the two schemas first makes those
registrations succeed; the ops keep no kernel, so calling them still raises,
and nothing in OpenMMLab calls them (mmcv.ops provides NMS).

Two ways in: ``import mmsemanticmim`` calls :func:`guard`; and the venv our
install makes, only where torchvision's compiled part does not load there,
runs :func:`install_import_hook` at start-up (a ``.pth`` line that loads
this file by path, as module ``_mmsemanticmim_torchvision_guard`` in
``sys.modules``: the schemas live as long as the module that defined
them), so ``import timm`` or ``import torchvision`` work without our
package. This module imports nothing heavy at load: torch is
imported when torchvision is.
"""
import glob
import importlib.abc
import importlib.util
import os.path as osp
import sys

_lib = None  # keeps the torch.library definitions alive


def guard() -> None:
    """Define the two schemas if torchvision's compiled part cannot load;
    a no-op where it loads, once torchvision is imported, or when called
    again."""
    global _lib
    if 'torchvision' in sys.modules or _lib is not None:
        return
    spec = importlib.util.find_spec('torchvision')
    if spec is None or spec.origin is None:
        return
    import torch
    libs = glob.glob(osp.join(osp.dirname(spec.origin), '_C*.so')) + \
        glob.glob(osp.join(osp.dirname(spec.origin), '_C*.pyd'))
    if libs:
        try:
            torch.ops.load_library(libs[0])
            return
        except (OSError, ImportError):
            pass
    try:  # someone (an earlier import) already defined them
        torch.ops.torchvision.nms
        return
    except (AttributeError, RuntimeError):
        pass
    lib = torch.library.Library('torchvision', 'DEF')
    lib.define(
        'nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor')
    lib.define(
        'qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor')
    _lib = lib


class _GuardOnFirstImport(importlib.abc.MetaPathFinder):
    """Runs :func:`guard` just before torchvision is first imported, then
    steps aside (finds nothing itself)."""

    def find_spec(self, name, path=None, target=None):
        if name == 'torchvision':
            sys.meta_path.remove(self)
            guard()
        return None


def install_import_hook() -> None:
    """What the venv's start-up line calls: nothing is imported until
    torchvision is."""
    if 'torchvision' not in sys.modules and not any(
            type(f).__name__ == '_GuardOnFirstImport' for f in sys.meta_path):
        sys.meta_path.insert(0, _GuardOnFirstImport())
