"""Stop training at the first non-finite loss."""
import math
import os.path as osp

import torch
from mmengine.hooks import Hook

from mmsemanticmim.registry import HOOKS


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raise :class:`NonFiniteLossError` at the first iteration whose loss
    (or any loss term) is NaN or infinite, naming the iteration, the loss
    terms and the last checkpoint written, before any checkpoint of the
    diverged weights is saved (it runs ahead of ``CheckpointHook``).

    Written here rather than using mmdet's ``CheckInvalidLossHook``: that one
    asserts every 50 iterations without saying where, and importing it makes
    pre-training depend on mmdet's compiled ops.
    """

    priority = 'ABOVE_NORMAL'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if not outputs:
            return
        values = {k: float(v.detach().float().mean()) if torch.is_tensor(v)
                  else float(v) for k, v in outputs.items()
                  if torch.is_tensor(v) or isinstance(v, (int, float))}
        if all(math.isfinite(v) for v in values.values()):
            return
        last = None
        record = osp.join(runner.work_dir, 'last_checkpoint')
        if osp.isfile(record):
            with open(record) as f:
                last = f.read().strip() or None
        terms = ', '.join(f'{k}={v}' for k, v in values.items())
        raise NonFiniteLossError(
            f'Non-finite loss at iteration {runner.iter + 1} (epoch '
            f'{runner.epoch + 1}): {terms}. Training stopped before saving '
            'these weights. '
            + (f'The last good checkpoint is {last}: resume from it with a '
               'lower lr, stronger grad clipping or fp32.' if last else
               'No checkpoint was written yet.'))
