"""Unknown config keys are errors, before anything is built.

mmengine builds registered modules with their keyword arguments, so a typo
inside ``model`` is a ``TypeError`` naming it. What it does not build is read
with ``cfg.get``, and a misspelt key there is silently ignored: a top-level
``optim_wraper`` trains at the base config's lr, ``train_dataloder`` at its
batch size; ``default_hooks.checkpoint.max_keep_ckpt`` reaches
``Runner.save_checkpoint`` only at the first save, after an epoch of
compute. :func:`check_config_keys` compares those keys with what the
Runner, the class each dict names, and this package's tools read, and
names the closest known key.

No library offers this check (mmengine's ``Config`` accepts any key), so it
is written here; the accepted keys come from the signatures of mmengine's
classes, not from a copied list.

Top-level names are free for helper variables (``train_pipeline``,
``data_root``; OpenMMLab's base configs leave many that their children no
longer use), so there a key is an error when it is unused and close to a
Runner key: a misspelling. Inside the dicts listed above every key is
checked. Deliberate extras: names starting with ``_``, and whatever
``allow_unknown_keys`` lists (top-level names or dotted paths, or ``True``
to skip the check).
"""
import difflib
import inspect
from typing import Any, Iterable, List, Optional, Set

#: Top-level keys read by mmengine's Runners besides their ``__init__``
#: arguments (``Runner.build_model``, ``wrap_model``, ``train``), by the
#: config system and by this package's tools.
EXTRA_TOP_LEVEL = {
    '_base_',
    'custom_imports',
    'default_scope',
    'runner_type',
    'model_wrapper_cfg',
    'sync_bn',
    'find_unused_parameters',
    'activation_checkpointing',
    'efficient_conv_bn_eval',
    'compile',
    'strict_load',
    'auto_resume',
    'auto_resume_load_from',
    'allow_unknown_keys',
    'resume_changed',
}

#: Keys ``Runner.build_dataloader`` takes out before ``DataLoader(**rest)``.
DATALOADER_KEYS = {
    'dataset', 'sampler', 'batch_sampler', 'batch_size', 'num_batch_per_epoch',
    'worker_init_fn', 'disable_subprocess_warning', 'collate_fn'
}

#: Keys ``build_optim_wrapper`` takes out before building the wrapper.
OPTIM_WRAPPER_KEYS = {'type', 'constructor', 'paramwise_cfg', 'optimizer'}

#: ``auto_scale_lr`` / ``randomness`` / ``env_cfg``: read with ``.get``.
PLAIN_DICTS = {
    'auto_scale_lr': {'enable', 'base_batch_size'},
    'randomness': {'seed', 'diff_rank_seed', 'deterministic'},
    'env_cfg': {'cudnn_benchmark', 'mp_cfg', 'dist_cfg', 'resource_limit'},
}


class ConfigKeyError(KeyError):
    """Config keys that nothing reads."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def _runner_keys() -> Set[str]:
    from mmengine.runner import FlexibleRunner, Runner
    keys = set(EXTRA_TOP_LEVEL)
    for runner in (Runner, FlexibleRunner):
        keys |= set(inspect.signature(runner.__init__).parameters)
    return keys - {'self', 'cfg'}


def accepted_keys(cls: type, skip: Iterable[str] = ()) -> Optional[Set[str]]:
    """The keyword arguments ``cls(...)`` accepts, following ``**kwargs``
    up the class's bases; None where they end in an open ``**kwargs``.

    A ``CheckpointHook`` hands its ``**kwargs`` to ``save_checkpoint``,
    whose arguments the hook already passes all of, so only its named
    arguments count.
    """
    from mmengine.hooks import CheckpointHook
    keys: Set[str] = set()
    for klass in cls.__mro__:
        if '__init__' not in vars(klass):
            continue
        if klass is object:
            return None
        params = inspect.signature(klass.__init__).parameters.values()
        keys |= {
            p.name
            for p in params
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }
        if klass is CheckpointHook or not any(p.kind is p.VAR_KEYWORD
                                              for p in params):
            return keys - {'self'} - set(skip)
    return None


def _registered(registry, scope: Optional[str], name: Any):
    """The class a config's ``type`` names, or None if it cannot be told."""
    if isinstance(name, type):
        return name
    if not isinstance(name, str):
        return None
    try:
        with registry.switch_scope_and_registry(scope) as scoped:
            return scoped.get(name)
    except (KeyError, ImportError):  # the build reports a bad type
        return None


def _unknown(path: str, given: Iterable[str], known: Set[str],
             allowed: Set[str]) -> List[str]:
    problems = []
    for key in given:
        full = f'{path}.{key}' if path else key
        if key in known or full in allowed or key.startswith('_'):
            continue
        close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
        problems.append(f'  {full}: unknown key' + (
            f'; did you mean {(path + "." if path else "") + close[0]!r}?'
            if close else f' (known: {", ".join(sorted(known))})'))
    return problems


def _canonical(value: Any) -> str:
    """One string per value, tuples and lists alike (a helper variable's
    tuple is a list once a config is dumped and re-read)."""
    if isinstance(value, dict):
        return '{' + ','.join(f'{k!r}:{_canonical(v)}'
                              for k, v in sorted(value.items(),
                                                 key=lambda kv: str(kv[0])))\
            + '}'
    if isinstance(value, (list, tuple)):
        return '[' + ','.join(_canonical(v) for v in value) + ']'
    return repr(value)


def _values_within(value: Any, into: Set[str]) -> None:
    into.add(_canonical(value))
    children = value.values() if isinstance(value, dict) else \
        value if isinstance(value, (list, tuple)) else ()
    for child in children:
        _values_within(child, into)


def _top_level(cfg, allowed: Set[str]) -> List[str]:
    known = _runner_keys()
    used: Set[str] = set()
    for key in cfg.keys():
        if key in known:
            _values_within(cfg[key], used)
    problems = []
    for key in cfg.keys():
        if key in known or key in allowed or key.startswith('_') or \
                _canonical(cfg[key]) in used:  # a helper variable in use
            continue
        close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.75)
        if close:  # a misspelt Runner key, not a helper variable
            problems.append(f'  {key}: unknown top-level key; did you mean '
                            f'{close[0]!r}?')
    return problems


def _typed(
    cfg,
    key: str,
    registry,
    scope,
    allowed: Set[str],
    default: Optional[type] = None,
    skip: Iterable[str] = (),
    extra: Iterable[str] = ()
) -> List[str]:
    """Check the dict ``cfg[key]`` against the class it names."""
    value = cfg.get(key)
    if not isinstance(value, dict):
        return []
    cls = _registered(registry, scope, value['type']) if 'type' in value \
        else default
    if cls is None:
        return []
    known = accepted_keys(cls, skip)
    if known is None:
        return []
    return _unknown(key, value, known | {'type'} | set(extra), allowed)


def _hooks(cfg, scope, allowed: Set[str]) -> List[str]:
    from mmengine.registry import HOOKS
    problems = []
    entries = [(f'default_hooks.{name}', hook)
               for name, hook in (cfg.get('default_hooks') or {}).items()]
    entries += [(f'custom_hooks[{i}]', hook)
                for i, hook in enumerate(cfg.get('custom_hooks') or [])]
    for path, hook in entries:
        if not isinstance(hook, dict) or 'type' not in hook:
            continue
        cls = _registered(HOOKS, scope, hook['type'])
        known = accepted_keys(cls) if cls is not None else None
        if known is not None:
            problems += _unknown(path, hook, known | {'type', 'priority'},
                                 allowed)
    return problems


def _loops(cfg, scope, allowed: Set[str]) -> List[str]:
    from mmengine.registry import LOOPS
    from mmengine.runner import (EpochBasedTrainLoop, IterBasedTrainLoop,
                                 TestLoop, ValLoop)
    loop_args = ('runner', 'dataloader', 'evaluator')
    train = cfg.get('train_cfg') or {}
    default = EpochBasedTrainLoop if train.get('by_epoch', True) \
        else IterBasedTrainLoop
    return (
        _typed(
            cfg,
            'train_cfg',
            LOOPS,
            scope,
            allowed,
            default,
            loop_args,
            extra={'by_epoch'}) +
        _typed(cfg, 'val_cfg', LOOPS, scope, allowed, ValLoop, loop_args) +
        _typed(cfg, 'test_cfg', LOOPS, scope, allowed, TestLoop, loop_args))


def _dataloaders(cfg, allowed: Set[str]) -> List[str]:
    from torch.utils.data import DataLoader
    known = set(inspect.signature(DataLoader.__init__).parameters) \
        | DATALOADER_KEYS
    known -= {'self', 'sampler_fn'}
    problems = []
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(split)
        if isinstance(loader, dict):
            problems += _unknown(split, loader, known, allowed)
    return problems


def _optim_wrapper(cfg, scope, allowed: Set[str]) -> List[str]:
    from mmengine.optim import OptimWrapper
    from mmengine.registry import OPTIM_WRAPPERS, OPTIMIZERS
    wrapper = cfg.get('optim_wrapper')
    if not isinstance(wrapper, dict) or 'constructor' in wrapper:
        return []  # a custom constructor may read keys of its own
    problems = _typed(
        cfg,
        'optim_wrapper',
        OPTIM_WRAPPERS,
        scope,
        allowed,
        OptimWrapper,
        skip=('optimizer', ),
        extra=OPTIM_WRAPPER_KEYS)
    optimizer = wrapper.get('optimizer')
    if isinstance(optimizer, dict) and 'type' in optimizer:
        cls = _registered(OPTIMIZERS, scope, optimizer['type'])
        known = accepted_keys(cls, ('params', )) if cls else None
        if known is not None:
            problems += _unknown('optim_wrapper.optimizer', optimizer,
                                 known | {'type'}, allowed)
    return problems


def check_config_keys(cfg) -> None:
    """Raise :class:`ConfigKeyError` listing every key of ``cfg`` that
    nothing reads (see the module docstring), each with the closest known
    key.

    Args:
        cfg (mmengine.Config): A config about to be run.
    """
    opt_out = cfg.get('allow_unknown_keys', None)
    if opt_out is True:
        return
    if isinstance(opt_out, str):
        opt_out = [opt_out]
    allowed = set(opt_out or ())
    scope = cfg.get('default_scope', None)
    problems = _top_level(cfg, allowed)
    problems += _dataloaders(cfg, allowed)
    problems += _optim_wrapper(cfg, scope, allowed)
    problems += _loops(cfg, scope, allowed)
    problems += _hooks(cfg, scope, allowed)
    for key, known in PLAIN_DICTS.items():
        if isinstance(cfg.get(key), dict):
            problems += _unknown(key, cfg[key], known, allowed)
    if problems:
        name = getattr(cfg, 'filename', None) or 'the config'
        raise ConfigKeyError(
            f'{name}: keys that nothing reads (a typo trains something else '
            'without a word):\n' + '\n'.join(problems) +
            '\n  Fix the names (in the file or --cfg-options), or list '
            "deliberate extras: allow_unknown_keys=['key', 'a.b'].")
