"""What every tool does between reading a config and running it: the
checks that fail early, and the Runner it builds."""
from typing import Optional

from mmengine.logging import print_log
from mmengine.registry import RUNNERS

from mmsemanticmim.checkpoint import META_KEY, load_encoder_checkpoint
from mmsemanticmim.datasets.data_root_check import SPLITS, check_data_roots
from mmsemanticmim.registry import MODELS
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
    settings = info.meta.layer_kwargs()
    for key in wanted:
        backbone[key] = settings[key]
    backbone['init_cfg'] = None
    return True


def backbone_for_resume(cfg, checkpoint: str) -> None:
    """A resumed run takes every weight from ``checkpoint``: the backbone's
    ``Pretrained`` init_cfg is not read (so a downstream ``--resume`` needs
    no ``--pretrained``), and ``None`` encoder settings come from the
    checkpoint's meta (which downstream checkpoints carry)."""
    backbone = (cfg.get('model') or {}).get('backbone') or {}
    init = backbone.get('init_cfg')
    if not (isinstance(init, dict)
            and str(init.get('type', '')).endswith('Pretrained')):
        return
    if not backbone_from_checkpoint(cfg, checkpoint):
        backbone['init_cfg'] = None
    print_log(
        f'Resuming from {checkpoint}: the backbone is not initialised '
        f'from model.backbone.init_cfg (checkpoint='
        f'{init.get("checkpoint")}); its weights come from the '
        'resumed checkpoint.',
        logger='current')


#: What ``tools/train.py --fsdp`` sets (``configs/_base_/fsdp_runtime.py``,
#: as ``--cfg-options``: runner_type, strategy.type,
#: strategy.state_dict_cfg=full, strategy.model_wrapper.use_orig_params and
#: strategy.model_wrapper.auto_wrap_policy.type).
FSDP_RUNTIME = dict(
    runner_type='SafeFlexibleRunner',
    strategy=dict(
        type='SafeFSDPStrategy',
        # a unit per transformer layer; per-parameter optimizer groups
        # (no-decay keys, layer decay) need the original parameters
        model_wrapper=dict(
            type='MMFullyShardedDataParallel',
            use_orig_params=True,
            auto_wrap_policy=dict(type='semanticmim_wrap_transformer_layers')),
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
        if not torch.cuda.is_available() and (kind == 'AmpOptimWrapper'
                                              or wrapper.get('cpu_autocast')):
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
            for key in ('persistent_workers', 'prefetch_factor'):
                if loader.pop(key, None):  # a False / None meant nothing
                    say_config_change(f'{split}.{key} dropped '
                                      '(num_workers=0)')


def unscope_collate_fns(cfg) -> None:
    """A config inheriting ``PKG::`` bases has ``_scope_`` added by mmengine
    to every dict with a ``type``; ``Runner.build_dataloader`` passes the
    rest of a ``collate_fn`` dict to the function as keyword arguments
    (mmengine 0.10.7), so ``default_collate`` would get ``_scope_=...``.
    The key is dropped (the function is looked up by name either way)."""
    for split in SPLITS:
        loader = cfg.get(split, None)
        collate = loader.get('collate_fn', None) if isinstance(loader,
                                                               dict) else None
        if isinstance(collate, dict):
            collate.pop('_scope_', None)


def check_train_length(cfg) -> None:
    """``train_cfg.max_epochs`` / ``max_iters`` must be a positive integer:
    mmengine trains nothing at 0 and exits without a checkpoint."""
    train = cfg.get('train_cfg') or {}
    for key in ('max_epochs', 'max_iters'):
        value = train.get(key, None)
        if value is not None and (isinstance(value, bool)
                                  or not isinstance(value, int) or value < 1):
            raise ValueError(
                f'train_cfg.{key}={value!r}: nothing would be trained (no '
                'checkpoint written). Give a positive integer (--cfg-options '
                f'train_cfg.{key}=N).')


def say_config_change(change: str) -> None:
    """Log one thing a tool changed in the config it was given (a config
    that names our runner, strategy and hooks, as ours do, gets none)."""
    print_log(f'Config changed by mmsemanticmim: {change}.', logger='current')


def check_model_parts(model_cfg) -> None:
    """Let each of our model parts a config names check the model around
    it (the classmethod ``check_model_config`` of a registered class, e.g.
    ``SimpleFPN``'s strides against the detector's heads), before anything
    is built. The engine knows the parts only by their registered names."""
    for part in model_cfg.values():
        kind = part.get('type') if isinstance(part, dict) else None
        if not isinstance(kind, str):
            continue
        cls = MODELS.module_dict.get(kind.split('.')[-1])
        check = getattr(cls, 'check_model_config', None)
        if check is not None:
            check(model_cfg)


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
    for hook in add_checkpoint_hooks(cfg):
        say_config_change(f'custom_hooks += {hook}')
    check_data_roots(cfg, splits)
    if cfg.get('model'):
        check_model_parts(cfg.model)


#: mmengine's Runners and strategies, and the ones that replace them here.
SAFE_RUNNERS = {'Runner': 'SafeRunner', 'FlexibleRunner': 'SafeFlexibleRunner'}
SAFE_STRATEGIES = {'FSDPStrategy': 'SafeFSDPStrategy'}


def use_safe_runner(cfg) -> None:
    """Swap mmengine's ``Runner`` / ``FlexibleRunner`` for
    :class:`SafeRunner` / :class:`SafeFlexibleRunner` and its
    ``FSDPStrategy`` for :class:`SafeFSDPStrategy` (a custom ``runner_type``
    is kept), each swap said in the log."""
    strategy = cfg.get('strategy', None)
    if isinstance(strategy, dict) and isinstance(strategy.get('type'), str):
        name = strategy['type'].split('.')[-1]
        if name in SAFE_STRATEGIES:
            strategy['type'] = SAFE_STRATEGIES[name]
            say_config_change(
                f'strategy.type={name} -> {strategy["type"]} (runs without '
                'CUDA, resumes the optimizer, clips the global norm)')
    runner_type = cfg.get('runner_type', 'Runner')
    if isinstance(runner_type, str):
        name = runner_type.split('.')[-1]
        if name in SAFE_RUNNERS:
            cfg.runner_type = SAFE_RUNNERS[name]
            say_config_change(
                f'runner_type={name} -> {cfg.runner_type} (strict '
                'load_from, crash-safe saving, resume of the newest '
                'readable checkpoint)')


def build_runner(cfg, strict_load: Optional[bool] = None):
    """The Runner of ``cfg`` after :func:`use_safe_runner`."""
    if strict_load is not None:
        cfg.strict_load = strict_load
    use_safe_runner(cfg)
    if cfg.runner_type == 'SafeRunner':
        return SafeRunner.from_cfg(cfg)
    return RUNNERS.build(cfg)
