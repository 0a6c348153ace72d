"""Refuse a resume whose config changed what the schedule was built on.

mmengine's ``resume`` restores the optimizer and scheduler states over the
config's: a new ``optimizer.lr`` is replaced by the checkpoint's without a
word, and a new batch size or process count re-maps an iteration-based
schedule (epoch 3 ends at the lr the old run had at epoch 4). Here every
checkpoint records those settings, and a resume that would change any of
them stops before training, naming old and new values, unless the config's
``resume_changed`` (``tools/train.py --resume-changed NAME ...``) lists
them; then the log says what changed.
"""
import json
from typing import Dict, List

from mmengine.hooks import Hook

from mmsemanticmim.registry import HOOKS

#: Where the settings live in a checkpoint's ``meta``.
SETTINGS_KEY = 'semanticmim_train_settings'

#: What a change of each setting does on resume.
CONSEQUENCE = {
    'lr': 'the optimizer state resumes, so training goes on at the '
          "checkpoint's lr, not the new one",
    'param_scheduler': 'the scheduler states resume: their begin/end and '
                       'values stay the checkpoint\'s',
    'batch_size': 'iterations per epoch change, so an iteration-based '
                  'schedule is re-mapped over the epochs',
    'world_size': 'iterations per epoch change, so an iteration-based '
                  'schedule is re-mapped over the epochs',
    'max_epochs': 'a schedule whose end follows max_epochs is re-mapped',
    'max_iters': 'a schedule whose end follows max_iters is re-mapped',
}
SETTINGS = tuple(CONSEQUENCE)


class ResumeSettingsError(ValueError):
    """``--resume`` with a config that changed the schedule's settings."""


def _plain(value):
    """The setting as JSON text: comparable, and loadable with
    ``torch.load(weights_only=True)``."""
    return json.dumps(value, sort_keys=True, default=str)


def train_settings(runner) -> Dict[str, str]:
    """The settings that fix the optimizer and schedule of ``runner``'s
    config (``lr``, ``param_scheduler``, per-process ``batch_size``,
    ``world_size``, ``max_epochs`` / ``max_iters``), each as JSON text."""
    cfg = runner.cfg
    optimizer = (cfg.get('optim_wrapper') or {}).get('optimizer') or {}
    train = cfg.get('train_cfg') or {}
    values = dict(
        lr=optimizer.get('lr'),
        param_scheduler=cfg.get('param_scheduler'),
        batch_size=(cfg.get('train_dataloader') or {}).get('batch_size'),
        world_size=runner.world_size,
        max_epochs=train.get('max_epochs'),
        max_iters=train.get('max_iters'))
    return {k: _plain(v) for k, v in values.items()}


def changed_settings(saved: Dict[str, str],
                     current: Dict[str, str]) -> List[str]:
    """Names of the settings recorded in ``saved`` that ``current``
    changes."""
    return [k for k in SETTINGS
            if k in saved and k in current and saved[k] != current[k]]


@HOOKS.register_module()
class ResumeGuardHook(Hook):
    """Record :func:`train_settings` in every checkpoint; on resume, refuse
    changed ones not listed in ``cfg.resume_changed`` (``'all'`` accepts
    every change). The tools add this hook to every config."""

    priority = 'LOW'  # before SafeCheckpointHook (VERY_LOW) converts

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})[SETTINGS_KEY] = \
            train_settings(runner)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
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
        lines = {k: f'  {k}: checkpoint {saved[k]}, config {current[k]} '
                 f'({CONSEQUENCE[k]})' for k in changed}
        refused = [k for k in changed if k not in accepted]
        if refused:
            raise ResumeSettingsError(
                f'--resume from {source} with a config that changes what '
                'its schedule was built on:\n' +
                '\n'.join(lines[k] for k in refused) +
                '\n  Restore the old values, or accept the change with '
                f'--resume-changed {" ".join(refused)} (config: '
                f'resume_changed={refused!r}). To train with new settings '
                'from these weights, start a new run with load_from='
                f'{source} instead of resuming.')
        runner.logger.warning('Resuming with changed settings (accepted by '
                              'resume_changed):\n' +
                              '\n'.join(lines.values()))
