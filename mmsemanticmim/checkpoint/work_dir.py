"""The checkpoints of a training run: which is the latest readable one,
which may be pruned, why a save failed, and whether one fits the model.

mmengine loads ``load_from`` non-strictly and reports misfits only in the
log; here a misfit is an error naming the keys, the checkpoint's encoder
meta and the config keys to change (see :class:`SafeRunner`).
"""
import collections
import glob
import os
import os.path as osp
import re
import shutil
from typing import Dict, List, Optional, Sequence

import torch

from .encoder_meta import META_KEY, meta_mismatches, recorded_meta
from .reading import is_whole_torch_file
from .reference import CONVERTER_HINT, is_reference_state

#: Names CheckpointHook gives the checkpoints a run resumes from (not
#: ``best_*.pth``, which hold no optimizer state).
RESUMABLE = re.compile(r'^(epoch|iter)_\d+\.pth$')


def is_readable_checkpoint(path: str) -> bool:
    """Whether ``path`` is a whole checkpoint: a complete ``torch.save``
    file, or a folder of per-rank shards (DeepSpeed, FSDP 'local'), which
    is taken as written (it is only moved into place once complete)."""
    return osp.isdir(path) or is_whole_torch_file(path)


def remove_path(path: str) -> None:
    """Delete a file or folder if it exists."""
    if osp.isdir(path):
        shutil.rmtree(path)
    elif osp.lexists(path):
        os.remove(path)


def checkpoint_step(path: str) -> int:
    """The epoch or iteration in a checkpoint's name (``epoch_3.pth``: 3),
    which CheckpointHook writes from the runner's count; -1 without one."""
    numbers = re.findall(r'\d+', osp.basename(path))
    return int(numbers[-1]) if numbers else -1


def checkpoints_in(work_dir: str) -> List[str]:
    """The resumable checkpoints of ``work_dir`` (``epoch_N.pth``,
    ``iter_N.pth``), newest first by the epoch / iteration in their name
    (not by modification time, which a copy changes)."""
    files = [
        p for p in glob.glob(osp.join(work_dir, '*.pth'))
        if RESUMABLE.match(osp.basename(p))
    ]
    return sorted(files, key=checkpoint_step, reverse=True)


def partial_checkpoints_in(work_dir: str) -> List[str]:
    """Checkpoints a crash left half-written (``*.pth.tmp``) in
    ``work_dir``."""
    return sorted(glob.glob(osp.join(work_dir, '*.pth.tmp')))


def newest_readable_checkpoint(work_dir: str,
                               skip: Sequence[str] = ()) -> Optional[str]:
    """The newest readable checkpoint of ``work_dir`` not in ``skip``."""
    skip = {osp.realpath(p) for p in skip}
    for path in checkpoints_in(work_dir):
        if osp.realpath(path) not in skip and is_readable_checkpoint(path):
            return path
    return None


class ForeignCheckpointError(ValueError):
    """``last_checkpoint`` names a file outside the work dir."""


def _inside(path: str, folder: str) -> bool:
    path, folder = osp.realpath(path), osp.realpath(folder)
    return osp.commonpath([path, folder]) == folder


def latest_checkpoint(work_dir: str,
                      out_dirs: Sequence[str] = ()) -> Optional[str]:
    """What the work dir's ``last_checkpoint`` file names, if it exists.

    mmengine writes an absolute path there. A relative name is read
    inside ``work_dir``; a path outside ``work_dir`` (and the
    CheckpointHook's ``out_dirs``) is refused: it is what a copied or
    moved work dir holds, and resuming from it would continue another
    run's experiment.

    Raises:
        ForeignCheckpointError: The record points outside the work dir.
    """
    record = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(record):
        return None
    with open(record) as f:
        path = f.read().strip()
    if not path:
        return None
    if not osp.isabs(path):
        # ours: a name in the work dir; mmengine's with a relative out_dir:
        # a path from the current folder
        inside = osp.join(work_dir, path)
        if osp.exists(inside) or not out_dirs:
            return inside
        path = osp.abspath(path)
    if any(_inside(path, d) for d in (work_dir, *out_dirs)):
        return path
    own = newest_readable_checkpoint(work_dir)
    raise ForeignCheckpointError(
        f'{record} names {path}, outside the work dir {work_dir} (a copied '
        'or moved work dir?); resuming from it would continue that run. '
        f'To resume from it anyway, name it: --resume {path}. ' +
        (f'To resume from this work dir\'s own newest checkpoint: --resume '
         f'{own}.' if own else f'{work_dir} holds no readable checkpoint '
         'of its own.'))


def resumable_checkpoint(work_dir: str,
                         out_dirs: Sequence[str] = ()) -> Optional[str]:
    """What ``--resume`` without a path resumes from: the checkpoint
    ``last_checkpoint`` names if readable, else the newest readable one."""
    latest = latest_checkpoint(work_dir, out_dirs)
    if latest is not None and is_readable_checkpoint(latest):
        return latest
    return newest_readable_checkpoint(work_dir)


def prune_checkpoints(folder: str, filename_tmpl: str, keep: int,
                      up_to: int) -> List[str]:
    """Delete all but the ``keep`` newest checkpoints named by
    ``filename_tmpl`` (CheckpointHook's ``'epoch_{}.pth'``) with a step of
    at most ``up_to``; later steps (left by a run this one resumed before)
    are not touched. Returns the deleted paths."""
    prefix, _, suffix = filename_tmpl.partition('{}')
    pattern = re.compile(
        re.escape(prefix) + r'(\d+)' + re.escape(suffix) + '$')
    steps = []
    for name in os.listdir(folder):
        match = pattern.match(name)
        if match and int(match.group(1)) <= up_to:
            steps.append(int(match.group(1)))
    doomed = [
        osp.join(folder, filename_tmpl.format(s))
        for s in sorted(steps, reverse=True)[keep:]
    ]
    for path in doomed:
        remove_path(path)
    return doomed


#: How mmengine revises checkpoint keys by default (DDP's ``module.``).
REVISE_KEYS = ((r'^module\.', ''), )


def state_dict_of(checkpoint: dict,
                  revise_keys=REVISE_KEYS) -> Dict[str, object]:
    """The model weights of a loaded checkpoint, keys revised as mmengine
    revises them (with torch's module versions, ``_metadata``, kept)."""
    state = checkpoint.get('state_dict', checkpoint)
    metadata = getattr(state, '_metadata', None)
    for pattern, repl in revise_keys:
        state = {re.sub(pattern, repl, k): v for k, v in state.items()}
        if metadata is not None:
            metadata = {
                re.sub(pattern, repl, k): v
                for k, v in metadata.items()
            }
    if metadata is not None:
        state = collections.OrderedDict(state)
        state._metadata = collections.OrderedDict(metadata)
    return state


def diff_state(model: torch.nn.Module, state: Dict[str, object]):
    """Missing keys, unexpected keys and shape mismatches of ``state``
    against ``model``."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [(k, tuple(state[k].shape), tuple(v.shape))
                  for k, v in own.items()
                  if k in state and hasattr(state[k], 'shape')
                  and tuple(state[k].shape) != tuple(v.shape)]
    return missing, unexpected, mismatched


def encoder_mismatches(checkpoint: dict, model: torch.nn.Module) -> List[str]:
    """Fields of the checkpoint's encoder meta that the model's backbone
    does not match (see :func:`meta_mismatches`); empty without meta."""
    backbone = getattr(model, 'backbone', None)
    saved = recorded_meta(checkpoint)
    if not saved or not hasattr(backbone, 'checkpoint_meta'):
        return []
    return meta_mismatches(saved, backbone.checkpoint_meta())


def _groups(keys: Sequence[str], limit: int = 6) -> str:
    """``decode_head.* (12 keys), ...``: keys grouped by their top module."""
    counts: Dict[str, int] = {}
    for k in keys:
        counts[k.split('.')[0]] = counts.get(k.split('.')[0], 0) + 1
    text = ', '.join(f'{g}.* ({n})' for g, n in list(counts.items())[:limit])
    return text + (', ...' if len(counts) > limit else '')


def describe_misfit(path: str, checkpoint: dict, model: torch.nn.Module,
                    missing, unexpected, mismatched) -> str:
    """A message saying why ``checkpoint`` does not fit ``model``, with the
    encoder meta and the config keys to change."""
    lines = [f'Checkpoint {path} does not fit the model of this config:']
    if missing:
        lines.append(f'  missing {len(missing)} keys: {_groups(missing)}; '
                     f'first: {missing[:4]}')
    if unexpected:
        lines.append(f'  unexpected {len(unexpected)} keys: '
                     f'{_groups(unexpected)}; first: {unexpected[:4]}')
    for key, got, want in mismatched[:6]:
        lines.append(f'  {key}: checkpoint {list(got)} vs model '
                     f'{list(want)}')
    lines += ['  ' + f for f in encoder_mismatches(checkpoint, model)]
    saved = (checkpoint.get('meta') or {}).get(META_KEY)
    if saved and hasattr(getattr(model, 'backbone', None), 'checkpoint_meta'):
        lines.append(f'  checkpoint encoder: {saved}')
    own_top = {k.split('.')[0] for k in model.state_dict()}
    ckpt_top = {k.split('.')[0] for k in state_dict_of(checkpoint)}
    others = own_top - {'backbone'}
    if 'backbone' in ckpt_top and others and not others & ckpt_top:
        lines.append(
            '  the checkpoint holds an encoder but none of this model\'s '
            f'{sorted(others)}: a pre-training checkpoint initialises '
            'training (model.backbone.init_cfg.checkpoint); it cannot be '
            'evaluated with this config.')
    if is_reference_state(state_dict_of(checkpoint)):
        lines.append(f'  {CONVERTER_HINT}.')
    lines.append('  Fix the config (or --cfg-options) to match, or pass '
                 '--non-strict to load what fits and report the rest.')
    return '\n'.join(lines)


class CheckpointMisfitError(ValueError):
    """A checkpoint whose keys or shapes do not fit the model."""


def atomic_replace(tmp: str, final: str) -> None:
    """Move a fully written ``tmp`` file (or folder) into place."""
    if osp.isdir(tmp):
        remove_path(final)
    else:
        with open(tmp, 'rb') as f:
            os.fsync(f.fileno())
    os.replace(tmp, final)


def tensor_bytes(obj) -> int:
    """Bytes of the tensors in ``obj`` (nested dicts, lists, tuples)."""
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(tensor_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(tensor_bytes(v) for v in obj)
    return 0


class CheckpointSaveError(OSError):
    """A checkpoint that could not be written (disk full, no permission)."""


def explain_failed_save(error: OSError,
                        path: str,
                        model: torch.nn.Module,
                        optim_wrapper=None) -> CheckpointSaveError:
    """The error to raise when writing ``path`` failed with ``error``: it
    names the file, the bytes the checkpoint needs (its tensors: model and
    optimizer state) and the bytes free where it was to be written."""
    needed = tensor_bytes(model.state_dict())
    try:
        needed += tensor_bytes(optim_wrapper.state_dict())
    except (AttributeError, RuntimeError):  # no wrapper, or a sharded one
        pass
    folder = osp.dirname(osp.abspath(path))
    try:
        free = f'{shutil.disk_usage(folder).free / 2**20:.1f} MiB are free'
    except OSError:
        free = 'the free space cannot be read'
    return CheckpointSaveError(
        error.errno,
        f'Could not save the checkpoint {path}: {error.strerror}. It needs '
        f'about {needed / 2**20:.1f} MiB; {free} in {folder}. The partial '
        f'{osp.basename(path)}.tmp was removed; the earlier checkpoints '
        'and last_checkpoint are as they were. Free space (or move the '
        'work dir: --work-dir) and --resume.')
