"""The two guards ``import mmsemanticmim`` applies, without which the stack
does not import at all.

Each acts only where the library cannot import otherwise, with the upstream
issue it works around; nothing here edits installed files, and a library
that imports fine is left exactly as it is. Everything else a process may
want changed (checkpoint loading, warnings) is opt-in:
``mmsemanticmim.setup_env()``.
"""
import importlib.util
import os.path as osp
import sys

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
    path = osp.join(
        list(pkg.submodule_search_locations)[0], 'utils', 'dependency.py')
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
