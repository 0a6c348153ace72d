"""Stop training at the first non-finite loss, naming a checkpoint whose
weights are known good, and delete old checkpoints only once a newer one is
known good."""
import math
import os.path as osp
from typing import Optional

import torch
from mmengine.dist import all_reduce, is_main_process
from mmengine.hooks import CheckpointHook, Hook

from mmsemanticmim.checkpoint.work_dir import (checkpoint_step,
                                               prune_checkpoints)
from mmsemanticmim.registry import HOOKS


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raise :class:`NonFiniteLossError` at the first iteration whose loss
    (or any loss term) is NaN or infinite, naming the iteration, the loss
    terms and the last good checkpoint, before any checkpoint of the
    diverged weights is saved (it runs ahead of ``CheckpointHook``).

    A checkpoint is *good* once the first loss computed from its weights
    (the next training iteration's) is finite: an update can blow the
    weights up without a non-finite loss until the iteration after, so the
    newest file is not necessarily good when a loss turns NaN.

    For the same reason this hook, not ``CheckpointHook``, deletes old
    checkpoints: it takes over the hook's ``max_keep_ckpts`` when training
    starts (mmengine deletes the oldest file *before* writing the next one,
    so a crash during that save left nothing at ``max_keep_ckpts=1``) and
    deletes a checkpoint only once a newer one is complete and good; at the
    end of training the ``max_keep_ckpts`` newest are kept.

    Written here rather than using mmdet's ``CheckInvalidLossHook``: that one
    asserts every 50 iterations without saying where, and importing it makes
    pre-training depend on mmdet's compiled ops.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self) -> None:
        self.keep = -1
        self.checkpoint_hook: Optional[CheckpointHook] = None
        #: The newest checkpoint whose weights gave a finite loss.
        self.good: Optional[str] = None

    def before_train(self, runner) -> None:
        self.good = None
        self.checkpoint_hook = next(
            (h for h in runner.hooks if isinstance(h, CheckpointHook)), None)
        hook = self.checkpoint_hook
        # a remote out_dir (s3://...) keeps mmengine's own pruning
        remote = '://' in str(getattr(hook, 'out_dir', None) or '')
        if hook is not None and hook.max_keep_ckpts > 0 and not remote:
            self.keep, hook.max_keep_ckpts = hook.max_keep_ckpts, -1
            runner.logger.info(
                f'NonFiniteLossHook keeps the {self.keep} newest checkpoints '
                '(default_hooks.checkpoint.max_keep_ckpts): an older one is '
                'deleted only after a newer one is complete and its weights '
                'gave a finite loss.')

    def _checkpoint_folder(self, runner) -> str:
        return getattr(self.checkpoint_hook, 'out_dir', None) or \
            runner.work_dir

    def _last_saved(self, runner) -> Optional[str]:
        """The checkpoint holding the weights of the coming forward: the
        last one saved in this run, else the one it resumed from."""
        saved = getattr(self.checkpoint_hook, 'last_ckpt', None)
        return saved or getattr(runner, 'resumed_from', None)

    def _prune(self, runner, up_to: float) -> None:
        folder = self._checkpoint_folder(runner)
        if self.keep > 0 and is_main_process() and osp.isdir(folder):
            deleted = prune_checkpoints(folder,
                                        self.checkpoint_hook.filename_tmpl,
                                        self.keep, up_to)
            if deleted:
                runner.logger.info('Deleted older checkpoints: ' +
                                   ', '.join(map(osp.basename, deleted)))

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        if not outputs:
            return
        values = {
            k: float(v.detach().float().mean())
            if torch.is_tensor(v) else float(v)
            for k, v in outputs.items()
            if torch.is_tensor(v) or isinstance(v, (int, float))
        }
        latest = self._last_saved(runner)
        finite = all(math.isfinite(v) for v in values.values())
        if runner.world_size > 1:  # every rank decides alike
            flag = torch.tensor(
                float(not finite),
                device=next(
                    (v.device for v in outputs.values() if torch.is_tensor(v)),
                    torch.device('cpu')))
            all_reduce(flag, op='max')
            finite = not flag.item()
        if finite:
            if latest is not None and latest != self.good:
                self.good = latest  # its weights just gave a finite loss
                self._prune(runner, checkpoint_step(latest))
            return
        terms = ', '.join(f'{k}={v}' for k, v in values.items())
        advice = self.advice(runner, latest)
        if self.good and osp.exists(self.good) and latest != self.good \
                and is_main_process():
            # --auto-resume (a requeued job) must not pick the bad file
            with open(osp.join(runner.work_dir, 'last_checkpoint'), 'w') as f:
                f.write(self.good)
        raise NonFiniteLossError(
            f'Non-finite loss at iteration {runner.iter + 1} (epoch '
            f'{runner.epoch + 1}): {terms}' +
            (f' (rank {runner.rank}\'s; another rank\'s loss may be the '
             'non-finite one)' if runner.world_size > 1 else '') +
            '. Training stopped before saving these weights. ' + advice)

    def advice(self, runner, latest: Optional[str]) -> str:
        """Which checkpoint to go on from, and how."""
        lines = []
        if latest is not None and latest != self.good:
            lines.append(f'{latest} holds the weights that gave this loss: '
                         'do not resume from it' +
                         (' (last_checkpoint now names the good one).' if self.
                          good else '.'))
        good = self.good if self.good and osp.exists(self.good) else None
        if good is None:
            lines.append(
                'No checkpoint of this run is known to be good. Start again '
                'with a lower lr (--cfg-options optim_wrapper.optimizer.lr='
                '...), gradient clipping (optim_wrapper.clip_grad='
                'dict(max_norm=1.0) in the config) or without --amp.')
            return ' '.join(lines)
        lines.append(
            f'The last good checkpoint is {good}. Go on from it with a '
            f'lower lr: --resume {good} --resume-changed lr --cfg-options '
            'optim_wrapper.optimizer.lr=... (the resumed lr schedule is '
            'scaled by new/old lr); or with gradient clipping '
            '(optim_wrapper.clip_grad=dict(max_norm=1.0) in the config, '
            'which a resume takes as it is).')
        return ' '.join(lines)

    def after_run(self, runner) -> None:
        hook = self.checkpoint_hook
        if hook is None or self.keep <= 0:
            return
        last = getattr(hook, 'last_ckpt', None)
        if last is not None:  # this run's own files, not a later run's
            self._prune(runner, checkpoint_step(last))
        hook.max_keep_ckpts, self.keep = self.keep, -1
