"""Keep every checkpoint loadable with ``torch.load(weights_only=True)``."""
from collections import OrderedDict
from typing import Any

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer

from mmsemanticmim.registry import HOOKS

_BUFFER_TAG = '__history_buffer__'
_NDARRAY_TAG = '__ndarray__'


def to_weights_only(obj: Any) -> Any:
    """Rewrite ``obj`` into tensors and plain containers.

    mmengine 0.10.7 saves its message hub as ``HistoryBuffer`` objects holding
    numpy arrays (open-mmlab/mmengine#1655), which the safe unpickler of
    torch >= 2.6 rejects. Buffers and numpy arrays become tagged dicts of
    tensors, numpy scalars Python numbers; :func:`from_weights_only` restores
    the buffers and the arrays (same dtype and values).
    """
    if isinstance(obj, HistoryBuffer):
        log, count = obj.data
        return {
            _BUFFER_TAG: True,
            'log_history': torch.from_numpy(np.asarray(log, dtype=np.float64)),
            'count_history': torch.from_numpy(np.asarray(count,
                                                         dtype=np.int64)),
            'max_length': int(obj.max_length),
        }
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in 'biufc':  # objects, strings: plain lists
            return [to_weights_only(x) for x in obj.tolist()]
        return {_NDARRAY_TAG: True, 'data': torch.from_numpy(obj.copy())}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, OrderedDict):
        return OrderedDict((k, to_weights_only(v)) for k, v in obj.items())
    if isinstance(obj, dict):
        return {k: to_weights_only(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_weights_only(v) for v in obj)
    return obj


def from_weights_only(obj: Any) -> Any:
    """Inverse of :func:`to_weights_only` for the message hub's buffers."""
    if isinstance(obj, dict):
        if obj.get(_BUFFER_TAG, False):
            return HistoryBuffer(obj['log_history'].tolist(),
                                 obj['count_history'].tolist(),
                                 obj['max_length'])
        if obj.get(_NDARRAY_TAG, False):
            return obj['data'].numpy()
        return type(obj)((k, from_weights_only(v)) for k, v in obj.items())
    if isinstance(obj, list):
        return [from_weights_only(v) for v in obj]
    return obj


@HOOKS.register_module()
class SafeCheckpointHook(Hook):
    """Write checkpoints that load without running code, and read them back.

    Before mmengine saves, the whole checkpoint dict (meta, message hub,
    scheduler states) is rewritten with :func:`to_weights_only`; after a
    checkpoint is loaded (``resume`` or ``load_from``) the message hub's
    ``HistoryBuffer`` objects are rebuilt, so logging resumes where it was.
    The tools add this hook to every config that lacks it.
    """

    priority = 'VERY_LOW'  # after every hook that adds to the checkpoint

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        converted = to_weights_only(checkpoint)
        checkpoint.clear()
        checkpoint.update(converted)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.get('meta')
        if isinstance(meta, dict) and 'config' in meta:
            # mmengine's resume executes meta['config'] as a Python config
            # (Config.fromstring) to compare GPU counts; mmengine itself
            # writes meta['cfg'], so only a foreign file has this key.
            meta.pop('config')
            runner.logger.warning(
                "Ignored the checkpoint's meta['config'] (config text is "
                'code, and a checkpoint never runs code here).')
        for key in ('message_hub', 'meta'):
            if key in checkpoint:
                checkpoint[key] = from_weights_only(checkpoint[key])


def add_checkpoint_hooks(cfg) -> None:
    """Append :class:`SafeCheckpointHook`, ``BackboneMetaHook``,
    ``ResumeGuardHook`` and ``NonFiniteLossHook`` to ``cfg.custom_hooks``
    where absent.

    Args:
        cfg (mmengine.Config): The config a tool is about to run; its scope
            may be mmseg's or mmdet's, hence the scoped type names.
    """
    hooks = list(cfg.get('custom_hooks', None) or [])
    names = {h.get('type') for h in hooks}
    for name in ('SafeCheckpointHook', 'BackboneMetaHook',
                 'ResumeGuardHook', 'NonFiniteLossHook'):
        if not names & {name, f'mmsemanticmim.{name}'}:
            hooks.append(dict(type=f'mmsemanticmim.{name}'))
    cfg.custom_hooks = hooks
