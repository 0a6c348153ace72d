"""What every tool does between reading a config and running it: the
checks that fail early, and the Runner it builds."""
from typing import Optional

from mmengine.registry import FUNCTIONS, RUNNERS

from mmsemanticmim.datasets.data_root_check import SPLITS, check_data_roots
from mmsemanticmim.models.backbones.checkpoint_meta import (
    META_KEY, load_encoder_checkpoint)
from mmsemanticmim.models.necks.simple_fpn import check_pyramid_strides
from mmsemanticmim.utils.torch_features import check_fsdp_device
from ..hooks import add_checkpoint_hooks
from .config_check import check_config_keys
from .safe_runner import SafeRunner

#: Backbone arguments that ``None`` reads from a checkpoint's meta.
FROM_META = ('num_proxy_tokens', 'layer_type', 'layer_scale_init_value')


def backbone_from_checkpoint(cfg, checkpoint: str) -> bool:
    """Fill ``None`` encoder settings from the checkpoint being evaluated.

    Fine-tuned and downstream checkpoints carry the encoder meta (written by
    ``BackboneMetaHook``), so evaluating one needs neither the pre-training
    file named in ``init_cfg`` (its weights are replaced by the checkpoint's
    anyway, so ``init_cfg`` is dropped) nor values typed by hand.

    Returns:
        bool: Whether anything was filled in.
    """
    backbone = (cfg.get('model') or {}).get('backbone') or {}
    wanted = [k for k in FROM_META if k in backbone and backbone[k] is None]
    if not wanted:
        return False
    # the runner reads the weights: here only the meta and shapes are
    # needed, so the tensors are mapped, not read
    info = load_encoder_checkpoint(checkpoint, mmap=True)
    if not info.recorded:
        raise ValueError(
            f'The config leaves model.backbone.{"/".join(wanted)}=None (read '
            f'from a checkpoint), but {checkpoint} records no '
            f'meta[{META_KEY!r}]: give the values with --cfg-options.')
    settings = info.meta.backbone_kwargs()
    for key in wanted:
        backbone[key] = settings[key]
    backbone['init_cfg'] = None
    return True


def backbone_for_resume(cfg, checkpoint: str) -> None:
    """A resumed run takes every weight from ``checkpoint``: the backbone's
    ``Pretrained`` init_cfg is not read (so a downstream ``--resume`` needs
    no ``--pretrained``), and ``None`` encoder settings come from the
    checkpoint's meta (which downstream checkpoints carry)."""
    from mmengine.logging import print_log
    backbone = (cfg.get('model') or {}).get('backbone') or {}
    init = backbone.get('init_cfg')
    if not (isinstance(init, dict) and str(init.get('type', '')).endswith(
            'Pretrained')):
        return
    if not backbone_from_checkpoint(cfg, checkpoint):
        backbone['init_cfg'] = None
    print_log(f'Resuming from {checkpoint}: the backbone is not initialised '
              f'from model.backbone.init_cfg (checkpoint='
              f'{init.get("checkpoint")}); its weights come from the '
              'resumed checkpoint.', logger='current')


def wrap_transformer_layers(module, recurse: bool,
                            nonwrapped_numel: int = 0, **kwargs) -> bool:
    """FSDP auto-wrap policy: one FSDP unit per transformer layer (of
    both stacks), so that only one layer's full parameters exist at a time;
    the rest (stem, heads, norms) stays in the root unit."""
    from mmpretrain.models.backbones.vision_transformer import \
        TransformerEncoderLayer

    from mmsemanticmim.models.utils import ProxyTransformerLayer
    if recurse:
        return True
    return isinstance(module, (ProxyTransformerLayer, TransformerEncoderLayer))


FUNCTIONS.register_module(
    name='semanticmim_wrap_transformer_layers',
    module=wrap_transformer_layers, force=True)

#: What ``tools/train.py --fsdp`` sets; the same as ``--cfg-options
#: runner_type=SafeFlexibleRunner strategy.type=FSDPStrategy
#: strategy.state_dict_cfg=full strategy.model_wrapper.use_orig_params=True
#: strategy.model_wrapper.auto_wrap_policy.type=semanticmim_wrap_transformer_layers``.
FSDP_RUNTIME = dict(
    runner_type='SafeFlexibleRunner',
    strategy=dict(
        type='FSDPStrategy',
        # a unit per transformer layer; per-parameter optimizer groups
        # (no-decay keys, layer decay) need the original parameters
        model_wrapper=dict(
            type='MMFullyShardedDataParallel', use_orig_params=True,
            auto_wrap_policy=dict(
                type='semanticmim_wrap_transformer_layers')),
        # one file per checkpoint, gathered on rank 0: every tool reads it
        state_dict_cfg='full'))


def use_fsdp(cfg) -> None:
    """Switch a config to sharded training (see :data:`FSDP_RUNTIME`).

    ``FlexibleRunner`` reads the wrapper from ``strategy.model_wrapper``,
    not ``model_wrapper_cfg``; on CPU ``SafeFSDPStrategy`` points FSDP at
    the CPU, and AMP needs an accelerator (``AmpOptimWrapper`` refuses CPU).
    """
    import copy

    import torch
    wrapper = cfg.get('optim_wrapper') or {}
    kind = str(wrapper.get('type', 'OptimWrapper')).split('.')[-1]
    if 'Amp' in kind:
        if not torch.cuda.is_available() and (
                kind == 'AmpOptimWrapper' or wrapper.get('cpu_autocast')):
            raise ValueError(
                f'optim_wrapper.type={kind} with autocast under FSDP needs '
                'an accelerator (mmengine refuses AMP on the CPU; CPU bf16 '
                'under FSDP is not tested here): drop --amp, or add '
                '--cfg-options optim_wrapper.type=OptimWrapper.')
        # the loss scaler must see every shard: ShardedGradScaler
        cfg.optim_wrapper.use_fsdp = True
    cfg.merge_from_dict(copy.deepcopy(FSDP_RUNTIME))
    cfg.pop('model_wrapper_cfg', None)


def allow_zero_workers(cfg) -> None:
    """``num_workers=0`` (data loading in the main process) with the
    shipped configs' ``persistent_workers=True`` / ``prefetch_factor``,
    which torch's DataLoader refuses without workers: those two are
    dropped, as they mean nothing without workers."""
    for split in SPLITS:
        loader = cfg.get(split, None)
        if isinstance(loader, dict) and loader.get('num_workers', 1) == 0:
            loader.pop('persistent_workers', None)
            loader.pop('prefetch_factor', None)


def unscope_collate_fns(cfg) -> None:
    """A config inheriting ``PKG::`` bases has ``_scope_`` added by mmengine
    to every dict with a ``type``; ``Runner.build_dataloader`` passes the
    rest of a ``collate_fn`` dict to the function as keyword arguments
    (mmengine 0.10.7), so ``default_collate`` would get ``_scope_=...``.
    The key is dropped (the function is looked up by name either way)."""
    for split in SPLITS:
        loader = cfg.get(split, None)
        collate = loader.get('collate_fn', None) if isinstance(
            loader, dict) else None
        if isinstance(collate, dict):
            collate.pop('_scope_', None)


def check_train_length(cfg) -> None:
    """``train_cfg.max_epochs`` / ``max_iters`` must be a positive integer:
    mmengine trains nothing at 0 and exits without a checkpoint."""
    train = cfg.get('train_cfg') or {}
    for key in ('max_epochs', 'max_iters'):
        value = train.get(key, None)
        if value is not None and (isinstance(value, bool) or
                                  not isinstance(value, int) or value < 1):
            raise ValueError(
                f'train_cfg.{key}={value!r}: nothing would be trained (no '
                'checkpoint written). Give a positive integer (--cfg-options '
                f'train_cfg.{key}=N).')


def prepare_config(cfg, splits=SPLITS) -> None:
    """Checks and defaults every tool applies before building the Runner:
    no key that nothing reads (:func:`check_config_keys`), data folders
    exist and are laid out as configured (for the dataloaders in
    ``splits``), detector strides agree, the checkpoint / meta / resume /
    divergence hooks are there, FSDP is asked for only where it runs."""
    check_config_keys(cfg)
    if 'train_dataloader' in splits:
        check_train_length(cfg)
    strategy = cfg.get('strategy') or {}
    if str(strategy.get('type', '')).endswith('FSDPStrategy'):
        check_fsdp_device(f"strategy.type={strategy['type']}")
    allow_zero_workers(cfg)
    unscope_collate_fns(cfg)
    add_checkpoint_hooks(cfg)
    check_data_roots(cfg, splits)
    if cfg.get('model'):
        check_pyramid_strides(cfg.model)


#: mmengine's Runners and strategies, and the ones that replace them here.
SAFE_RUNNERS = {'Runner': 'SafeRunner', 'FlexibleRunner': 'SafeFlexibleRunner'}
SAFE_STRATEGIES = {'FSDPStrategy': 'SafeFSDPStrategy'}


def build_runner(cfg, strict_load: Optional[bool] = None):
    """:class:`SafeRunner`, or :class:`SafeFlexibleRunner` for a config
    that names mmengine's ``FlexibleRunner`` (a custom ``runner_type`` is
    built as it is); mmengine's ``FSDPStrategy`` becomes
    :class:`SafeFSDPStrategy`."""
    if strict_load is not None:
        cfg.strict_load = strict_load
    strategy = cfg.get('strategy', None)
    if isinstance(strategy, dict) and isinstance(strategy.get('type'), str):
        name = strategy['type'].split('.')[-1]
        strategy['type'] = SAFE_STRATEGIES.get(name, strategy['type'])
    runner_type = cfg.get('runner_type', 'Runner')
    if isinstance(runner_type, str):
        name = runner_type.split('.')[-1]
        cfg.runner_type = SAFE_RUNNERS.get(name, runner_type)
    if cfg.runner_type == 'SafeRunner':
        return SafeRunner.from_cfg(cfg)
    return RUNNERS.build(cfg)
