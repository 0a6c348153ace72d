"""mmengine's Runners with strict loading, crash-safe saving, and a resume
that survives a broken checkpoint."""
import atexit
import errno
import os
import os.path as osp
from typing import Callable, Optional

from mmengine.dist import barrier, is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.model import is_model_wrapper
from mmengine.registry import RUNNERS
from mmengine.runner import FlexibleRunner, Runner
from mmengine.runner.checkpoint import load_state_dict

from mmsemanticmim.checkpoint.reading import (read_checkpoint,
                                              register_checkpoint_loaders)
# yapf: disable
from mmsemanticmim.checkpoint.work_dir import (CheckpointMisfitError,
                                               atomic_replace, describe_misfit,
                                               diff_state, encoder_mismatches,
                                               explain_failed_save,
                                               is_readable_checkpoint,
                                               latest_checkpoint,
                                               newest_readable_checkpoint,
                                               partial_checkpoints_in,
                                               remove_path, state_dict_of)
# yapf: enable
from ..mmengine_private import (mark_runner_loaded, runner_has_loaded,
                                runner_load_from, runner_resume,
                                set_runner_load_from, skip_records_when,
                                warn_instead)
from ..work_dir_lock import WorkDirLock

#: Errors of a file system that has no room left.
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)

#: ``write``, turned into a warning where the disk is full, so that a run
#: (a resume after freeing too little space, say) is not stopped by a
#: record it can do without.
_unless_disk_full = warn_instead(NO_SPACE)


def _launch_rank(launcher: str) -> int:
    """This process's global rank as the launcher set it (before the
    process group exists)."""
    if launcher == 'none':
        return 0
    for name in ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK'):
        if name in os.environ:
            return int(os.environ[name])
    return 0


class NothingToResumeError(FileNotFoundError):
    """``resume`` was asked for, but the work dir holds no checkpoint."""


class _SafeLoading:
    """What both Runners share: the ``strict_load`` / ``auto_resume`` config
    keys and the choice of the checkpoint to resume from."""

    strict_load: bool = True
    auto_resume: bool = False
    #: The config's ``load_from``, used when auto-resume finds nothing.
    auto_resume_load_from: Optional[str] = None
    #: Keys that did not load under ``strict_load=False``; None otherwise.
    load_report: Optional[dict] = None

    def __init__(self, *args, **kwargs) -> None:
        # a config that names our runner opts the process in to weights-only
        # checkpoint loading (what mmsemanticmim.setup_env() does)
        register_checkpoint_loaders()
        # a training run holds its work dir before it writes anything there
        # (log, config copy); rank 0 for all ranks
        self.work_dir_lock = None
        work_dir = kwargs.get('work_dir')
        if work_dir and kwargs.get('train_cfg') is not None and \
                _launch_rank(kwargs.get('launcher', 'none')) == 0:
            self.work_dir_lock = WorkDirLock(osp.abspath(work_dir))
            self.work_dir_lock.acquire()
            atexit.register(self.work_dir_lock.release)
        try:
            super().__init__(*args, **kwargs)
        except BaseException:
            self.release_work_dir()
            raise

    def release_work_dir(self) -> None:
        """Let another run use the work dir (at the end of ``train``)."""
        if self.work_dir_lock is not None:
            self.work_dir_lock.release()

    def train(self):
        try:
            return super().train()
        finally:
            self.release_work_dir()

    @classmethod
    def from_cfg(cls, cfg) -> 'SafeRunner':
        runner = super().from_cfg(cfg)
        runner.strict_load = bool(cfg.get('strict_load', True))
        runner.auto_resume = bool(cfg.get('auto_resume', False))
        runner.auto_resume_load_from = cfg.get('auto_resume_load_from', None)
        return runner

    #: The checkpoint being resumed from while ``resume`` runs (for
    #: ``ResumeGuardHook``), else None.
    resuming_from: Optional[str] = None
    #: The checkpoint this run resumed from, if it did.
    resumed_from: Optional[str] = None

    def build_train_loop(self, loop):
        """mmengine's loop, refused when an epoch holds no batch (fewer
        samples per process than the batch size with ``drop_last``), which
        mmengine reports only as ``epoch_length must be a positive
        integer``."""
        loop = super().build_train_loop(loop)
        loader = getattr(loop, 'dataloader', None)
        try:
            batches = len(loader)
        except TypeError:  # an iterable data set: its length is unknown
            return loop
        if batches == 0:
            samples = len(loader.dataset)
            raise ValueError(
                f'train_dataloader yields no batch per epoch: {samples} '
                f'samples, batch_size={loader.batch_size} per process, '
                f'{self.world_size} process(es), drop_last='
                f'{loader.drop_last}. Lower train_dataloader.batch_size to '
                f'at most {max(1, samples // self.world_size)}, or add data.')
        return loop

    # A full disk must not stop a run before its first checkpoint: the
    # config copies in the work dir and the visualizer's records are not
    # needed to train.
    def dump_config(self) -> None:
        _unless_disk_full('the config copy', super().dump_config)()

    def build_visualizer(self, visualizer=None):
        built = super().build_visualizer(visualizer)
        skip_records_when(built, _unless_disk_full)
        return built

    def _save_into_tmp(self, save: Callable, out_dir: str,
                       filename: str) -> None:
        """Run ``save`` (which writes ``filename.tmp``); on an ``OSError``
        remove the partial file and raise one that names the file, the
        bytes needed and free (the earlier checkpoints and
        ``last_checkpoint`` are untouched: CheckpointHook updates
        ``last_checkpoint`` only after a save returns, and old checkpoints
        are deleted by ``NonFiniteLossHook``, which takes over its
        ``max_keep_ckpts``, only after a newer one proved good)."""
        tmp = osp.join(out_dir, f'{filename}.tmp')
        try:
            save()
        except OSError as error:
            if is_main_process():
                remove_path(tmp)
            raise explain_failed_save(error, osp.join(out_dir, filename),
                                      self.model, self.optim_wrapper) \
                from error

    def _resume_source(self) -> Optional[str]:
        """The checkpoint to resume from, or None to start from scratch."""
        if isinstance(runner_resume(self), str):  # FlexibleRunner's PATH
            set_runner_load_from(self, runner_resume(self))
        load_from = runner_load_from(self)
        if load_from is not None:
            if not is_readable_checkpoint(load_from):
                alternative = newest_readable_checkpoint(
                    self.work_dir, skip=[load_from])
                raise ValueError(
                    f'Cannot resume from {load_from}: it is missing, '
                    'truncated or not a checkpoint. ' +
                    (f'The newest readable checkpoint in {self.work_dir} '
                     f'is {alternative}: pass it to --resume.' if alternative
                     else f'{self.work_dir} holds no readable checkpoint.'))
            return load_from
        latest = latest_checkpoint(self.work_dir, self._checkpoint_dirs())
        if latest is not None and is_readable_checkpoint(latest):
            return latest
        fallback = newest_readable_checkpoint(
            self.work_dir, skip=[latest] if latest else [])
        if latest is not None:
            self.logger.warning(
                f'The latest checkpoint {latest} is unreadable (missing or '
                'truncated, e.g. by a crash while saving); ' +
                (f'resuming from {fallback} instead.' if fallback else
                 'no other readable checkpoint in the work dir.'))
        if fallback is not None:
            return fallback
        partial = partial_checkpoints_in(self.work_dir)
        if partial:
            raise NothingToResumeError(
                f'{self.work_dir} holds no readable checkpoint, only '
                f'partial ones a crash left while saving: {partial}. Not '
                'starting from scratch over them: delete them (and '
                'last_checkpoint) to start again, or pass a checkpoint '
                '(--resume PATH).')
        if self.auto_resume:
            start = self.auto_resume_load_from
            self.logger.info(
                f'Auto-resume: no checkpoint in {self.work_dir}'
                '; training starts ' +
                (f'from load_from={start}.' if start else 'from scratch.'))
            return None
        raise NothingToResumeError(
            f'--resume: no readable checkpoint in {self.work_dir} to resume '
            'from. Check --work-dir, pass a checkpoint (--resume PATH), or '
            'use --auto-resume to start from scratch when there is none.')

    def _checkpoint_dirs(self):
        """Where CheckpointHook writes besides the work dir (its
        ``out_dir`` joined with the work dir's name, as it does)."""
        return [
            osp.join(h.out_dir, osp.basename(self.work_dir))
            for h in self.hooks if isinstance(h, CheckpointHook)
            and isinstance(getattr(h, 'out_dir', None), str)
        ]

    def load_or_resume(self) -> None:
        if runner_has_loaded(self):
            return None
        if runner_resume(self):
            source = self._resume_source()
            if source is not None:
                self.logger.info(f'Resuming from {source}.')
                self.resuming_from = self.resumed_from = source
                try:
                    self.resume(source)
                finally:
                    self.resuming_from = None
                mark_runner_loaded(self)
                return None
            # nothing to resume from (auto-resume): the config's load_from
            if self.auto_resume_load_from:
                self.load_checkpoint(self.auto_resume_load_from)
                mark_runner_loaded(self)
            return None
        if runner_load_from(self) is not None:
            self.load_checkpoint(runner_load_from(self))
            mark_runner_loaded(self)


@RUNNERS.register_module()
class SafeRunner(_SafeLoading, Runner):
    """The Runner every tool of this package builds (``runner_type``).

    Differences from mmengine's ``Runner``, all in the loading and saving
    paths (training and evaluation are untouched):

    - ``load_from`` loads strictly: missing / unexpected keys or a shape
      mismatch raise :class:`CheckpointMisfitError` before anything runs,
      naming the keys, the checkpoint's encoder meta and the config keys to
      change. ``strict_load=False`` in the config (``--non-strict``) loads
      what fits and records the rest in :attr:`load_report`.
    - checkpoints are written under a temporary name and renamed into
      place, so no ``*.pth`` (and no ``last_checkpoint``) names a partial
      file; a save that fails (disk full, no permission) removes its
      partial file and says what it needed and what was free. A full disk
      does not stop a run from starting (the config copies are skipped).
    - ``resume`` without a file takes the latest checkpoint; an unreadable
      one is reported and the newest readable one in the work dir is used.
      Nothing to resume from is an error naming the work dir, unless the
      config sets ``auto_resume=True`` (``--auto-resume``): then training
      starts from scratch.
    """

    # ------------------------------------------------------------ saving ---
    def save_checkpoint(self, out_dir: str, filename: str, *args,
                        **kwargs) -> None:
        if not is_main_process():  # mmengine saves on the main process only
            return None
        if not osp.isdir(out_dir):  # a remote backend: mmengine's own way
            return super().save_checkpoint(out_dir, filename, *args, **kwargs)
        tmp = osp.join(out_dir, f'{filename}.tmp')
        remove_path(tmp)  # left over by an earlier crash
        self._save_into_tmp(
            lambda: super(SafeRunner, self).save_checkpoint(
                out_dir, osp.basename(tmp), *args, **kwargs), out_dir,
            filename)
        atomic_replace(tmp, osp.join(out_dir, filename))

    # ----------------------------------------------------------- loading ---
    def load_checkpoint(self,
                        filename: str,
                        map_location='cpu',
                        strict: Optional[bool] = None,
                        revise_keys=[(r'^module\.', '')]):
        strict = self.strict_load if strict is None else strict
        checkpoint = read_checkpoint(filename, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) \
            else self.model
        missing, unexpected, mismatched = diff_state(
            model, state_dict_of(checkpoint, revise_keys))
        # what the weights cannot show (heads) is in the encoder meta
        arch = encoder_mismatches(checkpoint, model)
        if missing or unexpected or mismatched or arch:
            message = describe_misfit(filename, checkpoint, model, missing,
                                      unexpected, mismatched)
            if strict:
                raise CheckpointMisfitError(message)
            self.load_report = dict(
                checkpoint=filename,
                missing=missing,
                unexpected=unexpected,
                mismatched=[k for k, _, _ in mismatched])
            self.logger.warning('Non-strict load (--non-strict):\n' + message)
            # what fits loads; shape mismatches keep their init values
            bad = {k for k, _, _ in mismatched}
            checkpoint = dict(
                checkpoint,
                state_dict={
                    k: v
                    for k, v in state_dict_of(checkpoint, revise_keys).items()
                    if k not in bad
                })
        # every key was checked above: what is left loads as it fits
        load_state_dict(
            model,
            state_dict_of(checkpoint, revise_keys),
            strict=False,
            logger='current')
        mark_runner_loaded(self)
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint


@RUNNERS.register_module()
class SafeFlexibleRunner(_SafeLoading, FlexibleRunner):
    """mmengine's ``FlexibleRunner`` (strategies: FSDP, DeepSpeed, DDP) with
    :class:`SafeRunner`'s rules: crash-safe saving, strict ``load_from``
    (``strict_load=False`` to relax), and the same resume choice.

    Every rank calls ``save_checkpoint`` (gathering a full state dict is
    collective); the main process moves the finished file into place, then
    all ranks wait for it.
    """

    def save_checkpoint(self, out_dir: str, filename: str, *args,
                        **kwargs) -> None:
        if not osp.isdir(out_dir):
            super().save_checkpoint(out_dir, filename, *args, **kwargs)
            barrier()
            return None
        tmp = osp.join(out_dir, f'{filename}.tmp')
        if is_main_process():
            remove_path(tmp)
        barrier()
        self._save_into_tmp(
            lambda: super(SafeFlexibleRunner, self).save_checkpoint(
                out_dir, osp.basename(tmp), *args, **kwargs), out_dir,
            filename)
        barrier()  # every rank has written its part (one file or a folder)
        if is_main_process() and osp.exists(tmp):
            atomic_replace(tmp, osp.join(out_dir, filename))
        barrier()

    def load_checkpoint(self,
                        filename: str,
                        map_location='cpu',
                        strict: Optional[bool] = None,
                        revise_keys=[(r'^module\.', '')]):
        strict = self.strict_load if strict is None else strict
        return super().load_checkpoint(filename, map_location, strict,
                                       revise_keys)
