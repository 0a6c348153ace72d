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

import torch

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


def _find_nested_scopes() -> None:
    """Let ``'mmsemanticmim.Name'`` resolve from mmseg's / mmdet's registries.

    mmengine's ``Registry.get`` resolves a scoped key only when the scope is
    the root's direct child (mmengine/registry/registry.py, ``get``), while
    ``switch_scope_and_registry`` finds nested scopes by depth-first search
    (``_search_child``). OpenMMLab's own scopes are all direct children, so
    upstream never meets it (no upstream issue); ours is a child of
    mmpretrain's. When the stock lookup finds nothing, search the tree the
    way ``_search_child`` does.
    """
    from mmengine.registry import Registry
    if getattr(Registry.get, '_mmsemanticmim', False):
        return
    stock_get = Registry.get

    def get(self, key):
        obj = stock_get(self, key)
        if obj is None and isinstance(key, str) and '.' in key:
            scope, real_key = Registry.split_scope_key(key)
            node = self._get_root_registry()._search_child(scope)
            if node is not None and node is not self:
                obj = node.get(real_key)
        return obj

    get._mmsemanticmim = True
    get.__doc__ = stock_get.__doc__
    Registry.get = get


def _cpu_distributed_init() -> None:
    """Let ``--launcher pytorch`` start on machines without CUDA.

    mmengine 0.10.7's ``_init_dist_pytorch`` (mmengine/dist/utils.py) calls
    ``torch.cuda.set_device`` unconditionally, which a CPU torch build cannot
    do (no upstream issue found). Without CUDA, initialise the process group
    directly, with gloo when nccl was asked for (nccl needs GPUs).
    """
    import mmengine.dist.utils as dist_utils
    stock = dist_utils._init_dist_pytorch
    if getattr(stock, '_mmsemanticmim', False):
        return

    def init(backend, init_backend='torch', **kwargs):
        if torch.cuda.is_available() or init_backend != 'torch' or \
                dist_utils.is_mlu_available() or \
                dist_utils.is_npu_available():
            return stock(backend, init_backend=init_backend, **kwargs)
        if backend == 'nccl':
            backend = 'gloo'
        torch.distributed.init_process_group(backend=backend, **kwargs)

    init._mmsemanticmim = True
    dist_utils._init_dist_pytorch = init


def _fsdp_strategy_fixes() -> None:
    """Let mmengine 0.10.7's ``FSDPStrategy`` train, clip and resume.

    - ``load_optim_state_dict`` calls ``FSDP.optim_state_dict_to_load(osd,
      model, optim)``, torch 2.0's argument order; torch >= 2.1 takes
      ``(model, optim, osd)`` (pytorch/pytorch#123952 documents the order),
      so resuming a full optimizer state fails with ``unhashable type``.
    - ``_wrap_model`` passes ``device_id=LOCAL_RANK``, a CUDA device; without
      CUDA torch's FSDP raises "Cannot access accelerator device" (no
      upstream issue found): default to ``device_id='cpu'`` there.
    - ``state_dict_cfg='full'`` asks FSDP to offload the gathered state to
      the CPU; on a CPU-only machine (tensors already there) torch 2.13's
      ``FSDP.optim_state_dict`` then crashes rank 0 with a segmentation
      fault (seen here, no upstream issue found): gather without offload.
    - the optimizer wrapper clips each rank's shard by that shard's own norm
      (``torch.nn.utils.clip_grad_norm_`` over ``use_orig_params`` views):
      clip with ``FullyShardedDataParallel.clip_grad_norm_``, the global
      norm, as unsharded training does.
    """
    try:
        from mmengine._strategy import fsdp as fsdp_mod
    except ImportError:  # no torch.distributed.fsdp
        return
    strategy = fsdp_mod.FSDPStrategy
    if getattr(strategy, '_mmsemanticmim', False):
        return
    FSDP = fsdp_mod.FSDP

    def load_optim_state_dict(self, state_dict: dict) -> None:
        osd = FSDP.optim_state_dict_to_load(
            self.model, self.optim_wrapper.optimizer, state_dict)
        self.optim_wrapper.load_state_dict(osd)

    stock_wrap = strategy._wrap_model

    def _wrap_model(self, model):
        if not torch.cuda.is_available():
            self.model_wrapper = dict(self.model_wrapper or dict(
                type='MMFullyShardedDataParallel'))
            self.model_wrapper.setdefault('device_id', 'cpu')
        return stock_wrap(self, model)

    stock_build = strategy.build_optim_wrapper

    def build_optim_wrapper(self, optim_wrapper, model=None):
        wrapper = stock_build(self, optim_wrapper, model)
        fsdp_model = model if model is not None else self.model
        if getattr(wrapper, 'clip_func', None) is \
                torch.nn.utils.clip_grad_norm_:

            def clip(params, max_norm, norm_type=2.0, **kwargs):
                return fsdp_model.clip_grad_norm_(max_norm, norm_type)

            wrapper.clip_func = clip
        return wrapper

    stock_cfg = strategy._init_state_dict_cfg

    def _init_state_dict_cfg(self, state_dict_cfg):
        stock_cfg(self, state_dict_cfg)
        if state_dict_cfg == 'full' and not torch.cuda.is_available():
            self.state_dict_config.offload_to_cpu = False
            self.optim_state_dict_config.offload_to_cpu = False

    strategy.load_optim_state_dict = load_optim_state_dict
    strategy._init_state_dict_cfg = _init_state_dict_cfg
    strategy._wrap_model = _wrap_model
    strategy.build_optim_wrapper = build_optim_wrapper
    strategy._mmsemanticmim = True


def apply() -> None:
    """Apply every workaround once; later calls do nothing."""
    global _applied
    if _applied:
        return
    _applied = True
    guard()  # torchvision_guard.py (pytorch/vision#9085)
    _mmpretrain_multimodal_switch()
    _find_nested_scopes()
    _cpu_distributed_init()
    _fsdp_strategy_fixes()
    # setuptools < 81 is pinned because mmcv's build imports pkg_resources;
    # mmengine imports it at runtime too and setuptools warns on every import
    # (pypa/setuptools#4869). The warning is about the future, not this stack.
    warnings.filterwarnings(
        'ignore', message='pkg_resources is deprecated', category=UserWarning)
