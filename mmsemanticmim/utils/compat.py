"""Workarounds for the pinned dependency stack, applied once at import.

Every deviation from stock behaviour of an installed library lives here, each
with the upstream issue it works around. Nothing here edits installed files:
each fix is an in-memory guard, applied by :func:`apply` when
``import mmsemanticmim`` runs (before any OpenMMLab package pulls in
torchvision).
"""
import importlib.util
import os.path as osp
import sys
import warnings

from .torchvision_guard import guard

_applied = False

#: What mmpretrain 1.2's multimodal models import from transformers at
#: module level (models/multimodal/blip/language_model.py and others).
_MMPRETRAIN_TRANSFORMERS_NEEDS = ('PreTrainedModel',
                                  'apply_chunking_to_forward',
                                  'find_pruneable_heads_and_indices',
                                  'prune_linear_layer')


def _mmpretrain_multimodal_switch() -> None:
    """Let ``import mmpretrain`` succeed beside a transformers it cannot use.

    mmpretrain 1.2 imports its multimodal models (BLIP, ...) whenever
    transformers >= 4.28 is installed; newer transformers (4.45 and 5.x
    seen) no longer export ``apply_chunking_to_forward`` and friends from
    ``modeling_utils`` (they live in ``transformers.pytorch_utils``), the
    BLIP module's guarded import then leaves its bases ``None`` and
    ``import mmpretrain`` dies with "NoneType takes no arguments" (mmpretrain
    1.2.0 is its last release; no upstream issue found). mmpretrain
    has a switch for this, ``mmpretrain.utils.dependency.WITH_MULTIMODAL``
    (False: the multimodal names are registered as placeholders that raise
    when built). Where transformers is installed but lacks those names, its
    module (which imports nothing of mmpretrain) is loaded first, ahead of
    the package, and the switch turned off. Nothing of ours uses the
    multimodal models. A no-op without transformers, with one that works,
    or once mmpretrain is imported.
    """
    name = 'mmpretrain.utils.dependency'
    if 'mmpretrain' in sys.modules or name in sys.modules or \
            importlib.util.find_spec('transformers') is None:
        return
    try:
        import transformers.modeling_utils as mu
        if all(hasattr(mu, n) for n in _MMPRETRAIN_TRANSFORMERS_NEEDS):
            return
    except Exception:  # a transformers that does not even import
        pass
    pkg = importlib.util.find_spec('mmpretrain')
    if pkg is None or not pkg.submodule_search_locations:
        return
    path = osp.join(list(pkg.submodule_search_locations)[0], 'utils',
                    'dependency.py')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.WITH_MULTIMODAL = False
    sys.modules[name] = module


def apply() -> None:
    """Apply every workaround once; later calls do nothing."""
    global _applied
    if _applied:
        return
    _applied = True
    guard()  # torchvision_guard.py (pytorch/vision#9085)
    _mmpretrain_multimodal_switch()
    # setuptools < 81 is pinned because mmcv's build imports pkg_resources;
    # mmengine imports it at runtime too and setuptools warns on every import
    # (pypa/setuptools#4869). The warning is about the future, not this stack.
    warnings.filterwarnings(
        'ignore', message='pkg_resources is deprecated', category=UserWarning)
