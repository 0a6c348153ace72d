"""Refuse a resume whose config changed what the schedule was built on.

mmengine's ``resume`` restores the optimizer and scheduler states over the
config's: a new ``optimizer.lr`` is replaced by the checkpoint's without a
word, and a new batch size, process count or data set size re-maps an
iteration-based schedule (epoch 3 ends at the lr the old run had at epoch
4). Here every checkpoint records those settings, and a resume that would
change any of them stops before training, naming old and new values,
unless the config's ``resume_changed`` (``tools/train.py --resume-changed
NAME ...``) lists them; then the log says what changed. An accepted ``lr``
change is applied: the resumed lr and the lr schedule are scaled by
new / old lr.

A checkpoint is saved before the validation of its epoch runs, so a run
stopped during that validation (Ctrl-C, preemption) resumed past it. Each
finished validation of a training run is recorded in the work dir
(:data:`VALIDATION_RECORD`); a resume from a checkpoint whose validation is
not recorded runs it first (at the first epoch, or at the end when the
checkpoint is the last one).
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from mmsemanticmim.registry import HOOKS

#: The last finished validation of a training run, in its work dir.
VALIDATION_RECORD = 'last_validation.json'

#: Where the settings live in a checkpoint's ``meta``.
SETTINGS_KEY = 'semanticmim_train_settings'

#: What a change of each setting does on resume.
CONSEQUENCE = {
    'lr':
    "the resumed lr and lr schedule are scaled by new / old lr "
    '(an absolute floor such as eta_min stays)',
    'param_scheduler':
    'the scheduler states resume: their begin/end and '
    'values stay the checkpoint\'s',
    'batch_size':
    'iterations per epoch change, so an iteration-based '
    'schedule is re-mapped over the epochs',
    'world_size':
    'iterations per epoch change, so an iteration-based '
    'schedule is re-mapped over the epochs',
    'max_epochs':
    'a schedule whose end follows max_epochs is re-mapped',
    'max_iters':
    'a schedule whose end follows max_iters is re-mapped',
    'dataset_length':
    'iterations per epoch change, so a schedule '
    'converted to iterations (convert_to_iter_based) '
    'reaches its end early or late: it ends at the '
    'iteration the old data set would have ended at',
    'data_root':
    'the run goes on on other data than it started on',
}
SETTINGS = tuple(CONSEQUENCE)


class ResumeSettingsError(ValueError):
    """``--resume`` with a config that changed the schedule's settings."""


def _plain(value):
    """The setting as JSON text: comparable, and loadable with
    ``torch.load(weights_only=True)``."""
    return json.dumps(value, sort_keys=True, default=str)


def _data_root(dataset_cfg) -> Optional[str]:
    """The ``data_root`` of a dataset config, through wrappers
    (``RepeatDataset`` / ``ConcatDataset``)."""
    if not isinstance(dataset_cfg, dict):
        return None
    if dataset_cfg.get('data_root'):
        return osp.abspath(str(dataset_cfg['data_root']))
    inner = dataset_cfg.get('dataset') or dataset_cfg.get('datasets')
    inner = inner[0] if isinstance(inner, (list, tuple)) and inner else inner
    return _data_root(inner)


def _dataset_length(runner) -> Optional[int]:
    """The length of the training set where it is built and sized."""
    try:  # built by the time checkpoints are saved or resumed
        return len(runner.train_dataloader.dataset)
    except (AttributeError, TypeError):  # no training loop, or an iterable
        return None


def train_settings(runner) -> Dict[str, str]:
    """The settings that fix the optimizer and schedule of ``runner``'s
    config (``lr``, ``param_scheduler``, per-process ``batch_size``,
    ``world_size``, ``max_epochs`` / ``max_iters``, the training set's
    length and data root), each as JSON text."""
    cfg = runner.cfg
    optimizer = (cfg.get('optim_wrapper') or {}).get('optimizer') or {}
    train = cfg.get('train_cfg') or {}
    loader = cfg.get('train_dataloader') or {}
    values = dict(
        lr=optimizer.get('lr'),
        param_scheduler=cfg.get('param_scheduler'),
        batch_size=loader.get('batch_size'),
        world_size=runner.world_size,
        max_epochs=train.get('max_epochs'),
        max_iters=train.get('max_iters'),
        dataset_length=_dataset_length(runner),
        data_root=_data_root(loader.get('dataset')))
    return {
        k: _plain(v)
        for k, v in values.items()
        if v is not None or k not in ('dataset_length', 'data_root')
    }


def changed_settings(saved: Dict[str, str], current: Dict[str,
                                                          str]) -> List[str]:
    """Names of the settings recorded in ``saved`` that ``current``
    changes."""
    return [
        k for k in SETTINGS
        if k in saved and k in current and saved[k] != current[k]
    ]


@HOOKS.register_module()
class ResumeGuardHook(Hook):
    """Record :func:`train_settings` in every checkpoint; on resume, refuse
    changed ones not listed in ``cfg.resume_changed`` (``'all'`` accepts
    every change). The tools add this hook to every config."""

    priority = 'LOW'  # before SafeCheckpointHook (VERY_LOW) converts

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})[SETTINGS_KEY] = \
            train_settings(runner)

    def __init__(self) -> None:
        #: new / old lr of an accepted lr change, applied before training.
        self.lr_scale: Optional[float] = None
        self.training = False
        self.check_validation = False

    # ------------------------------------------- validation after resume ---
    def _write_record(self, runner, epoch: int, iteration: int) -> None:
        record = osp.join(runner.work_dir, VALIDATION_RECORD)
        with open(record + '.tmp', 'w') as f:
            json.dump(dict(epoch=epoch, iter=iteration), f)
        os.replace(record + '.tmp', record)

    def after_val(self, runner) -> None:
        # after every after_val_epoch, CheckpointHook's best-checkpoint
        # save included
        if self.training and is_main_process():
            self._write_record(runner, runner.epoch, runner.iter)

    def before_train_epoch(self, runner) -> None:
        self._rerun_stopped_validation(runner)

    def _rerun_stopped_validation(self, runner) -> None:
        """After a resume: run the validation the checkpoint's epoch (or
        iteration) was due, if its run stopped before finishing it."""
        if not self.check_validation:
            return
        self.check_validation = False
        loop = runner.train_loop
        if runner.val_loop is None or not hasattr(loop, 'val_interval'):
            return
        by_epoch = isinstance(loop, EpochBasedTrainLoop)
        step, last = (runner.epoch,
                      loop.max_epochs) if by_epoch else (runner.iter,
                                                         loop.max_iters)
        if step < max(loop.val_begin, 1) or (step % loop.val_interval
                                             and step != last):
            return
        try:
            with open(osp.join(runner.work_dir, VALIDATION_RECORD)) as f:
                done = json.load(f)['epoch' if by_epoch else 'iter']
        except (OSError, ValueError, KeyError):
            done = -1
        if done > step and is_main_process():
            # a later validation of the timeline this resume leaves
            self._write_record(runner, runner.epoch, runner.iter)
        if done >= step:
            return
        runner.logger.info(
            f'The validation of {"epoch" if by_epoch else "iteration"} '
            f'{step} did not finish before the run stopped: running it '
            'before training goes on.')
        runner.val_loop.run()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self.lr_scale = None
        source = getattr(runner, 'resuming_from', None)
        if source is None:  # load_from: weights only, nothing resumes
            return
        saved = (checkpoint.get('meta') or {}).get(SETTINGS_KEY)
        if not saved:
            runner.logger.info(f'{source} records no training settings: '
                               'resuming without comparing them.')
            return
        current = train_settings(runner)
        changed = changed_settings(saved, current)
        if not changed:
            return
        accepted = runner.cfg.get('resume_changed', None) or []
        accepted = SETTINGS if 'all' in accepted else accepted
        lines = {
            k:
            f'  {k}: checkpoint {saved[k]}, config {current[k]} '
            f'({CONSEQUENCE[k]})'
            for k in changed
        }
        refused = [k for k in changed if k not in accepted]
        if refused:
            raise ResumeSettingsError(
                f'--resume from {source} with a config that changes what '
                'its schedule was built on:\n' + '\n'.join(lines[k]
                                                           for k in refused) +
                '\n  Restore the old values, or accept the change with '
                f'--resume-changed {" ".join(refused)} (config: '
                f'resume_changed={refused!r}). To train with new settings '
                'from these weights, start a new run with load_from='
                f'{source} instead of resuming.')
        runner.logger.warning('Resuming with changed settings (accepted by '
                              'resume_changed):\n' + '\n'.join(lines.values()))
        if 'lr' in changed:
            old, new = json.loads(saved['lr']), json.loads(current['lr'])
            if isinstance(old, (int, float)) and \
                    isinstance(new, (int, float)) and old > 0:
                self.lr_scale = new / old

    def after_train(self, runner) -> None:
        # a resume at the last epoch runs no epoch: its validation is here
        self._rerun_stopped_validation(runner)
        self.training = False

    def before_train(self, runner) -> None:
        """Apply an accepted lr change over the resumed optimizer and
        scheduler states (which hold the checkpoint's lr)."""
        self.training = True
        self.check_validation = \
            getattr(runner, 'resumed_from', None) is not None
        if self.lr_scale is None:
            return
        scale, self.lr_scale = self.lr_scale, None
        wrappers = runner.optim_wrapper
        wrappers = wrappers.values() if hasattr(wrappers, 'values') \
            else [wrappers]
        for wrapper in wrappers:
            for group in wrapper.param_groups:
                for key in ('lr', 'initial_lr'):
                    if key in group:
                        group[key] *= scale
        schedulers = runner.param_schedulers or []
        if isinstance(schedulers, dict):
            schedulers = [s for v in schedulers.values() for s in v]
        for scheduler in schedulers:
            if getattr(scheduler, 'param_name', None) == 'lr':
                scheduler.base_values = [
                    v * scale for v in scheduler.base_values
                ]
        runner.logger.info(f'Resumed lr and lr schedule scaled by {scale:g} '
                           '(the config\'s lr over the checkpoint\'s).')
