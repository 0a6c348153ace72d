"""Reading checkpoint files without running code from them.

torch >= 2.6 unpickles with ``weights_only=True`` by default, torch 2.1 does
not, and mmengine's loaders may still ask for full unpickling (its fix for
open-mmlab/mmengine#1655, PR #1670, does). Every torch checkpoint read by
this package goes through :func:`read_checkpoint` (``.safetensors`` files,
which hold no pickle, are read by ``safetensors`` in ``timm_files``), and
OpenMMLab's loaders reach it through mmengine's documented extension point:
the ``CheckpointLoader`` schemes for local files and http(s) URLs are
registered here (:func:`register_checkpoint_loaders`, called at
``import mmsemanticmim``).
``torch.load`` itself is left as torch ships it.

mmengine's other schemes (``torchvision://``, ``open-mmlab://``, ``s3://``,
...) call its own download helpers directly and keep torch's default;
:func:`read_checkpoint` hands such names to them.
"""
import os
import os.path as osp
import pickle
from typing import Any

import torch

#: Environment variable holding checkpoint paths the user trusts with
#: full unpickling (``os.pathsep``-separated). Set by ``--trust-checkpoint``.
TRUST_ENV = 'MMSEMANTICMIM_TRUSTED_CHECKPOINTS'

class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects that only a full (code-running) unpickle
    could rebuild."""


class CorruptCheckpointError(ValueError):
    """A checkpoint file that is empty, truncated or not a torch file."""


def is_whole_torch_file(f: Any) -> bool:
    """Whether ``f`` is a complete ``torch.save`` file.

    torch writes a zip archive whose directory comes last, so a file cut
    short by a crash (or one that is not a checkpoint at all) fails to open
    as a zip; only the directory is read, not the tensors.
    """
    import zipfile
    try:
        with zipfile.ZipFile(f) as z:
            return any(n.endswith('data.pkl') for n in z.namelist())
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


def _starts_as_pickle(path: str) -> bool:
    """A plain pickle (protocol >= 2), e.g. a legacy torch file: the safe
    unpickler read into it and refused what it found."""
    with open(path, 'rb') as f:
        head = f.read(2)
    return len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def trust_checkpoint(path: str) -> None:
    """Allow ``path`` to be loaded with full unpickling (``weights_only=False``).

    Only for files whose origin the user trusts: unpickling can run code.
    The path travels through :data:`TRUST_ENV`, so launcher child processes
    (torchrun) inherit it.
    """
    paths = [p for p in os.environ.get(TRUST_ENV, '').split(os.pathsep) if p]
    paths.append(osp.realpath(path))
    os.environ[TRUST_ENV] = os.pathsep.join(paths)


def _is_trusted(f: Any) -> bool:
    if not isinstance(f, (str, os.PathLike)):
        return False
    trusted = {
        osp.realpath(p)
        for p in os.environ.get(TRUST_ENV, '').split(os.pathsep) if p
    }
    return osp.realpath(f) in trusted


def _mmap_supported() -> bool:
    import inspect
    return 'mmap' in inspect.signature(torch.serialization.load).parameters


def read_checkpoint(f: Any, map_location: Any = 'cpu',
                    mmap: bool = False) -> Any:
    """Read a checkpoint file: the one place this package unpickles one.

    Only tensors and plain containers are unpickled (``weights_only=True``,
    on every torch: torch 2.1 defaults to full unpickling), except for files
    the user named with ``--trust-checkpoint``. A file that needs more is
    refused with a message naming it and the opt-in; an empty, truncated or
    foreign file with one naming it and what is wrong.

    Args:
        f (str | PathLike | file): The checkpoint: a file, an open file, or
            an http(s) URL (downloaded into torch's hub cache once).
        map_location: As ``torch.load``'s.
        mmap (bool): Map a local zip-format file's tensors instead of reading
            them (``torch.load(mmap=True)``, where torch has it): for a
            caller that needs the meta and the shapes, not the weights.

    Returns:
        The unpickled object (for our checkpoints, a dict with ``meta`` and
        ``state_dict``).
    """
    if isinstance(f, str) and f.startswith(URL_PREFIXES):
        f = _download(f)
    elif isinstance(f, str) and '://' in f:
        # mmengine's other schemes (open-mmlab://, s3://, ...): its loaders
        from mmengine.runner.checkpoint import CheckpointLoader
        return CheckpointLoader.load_checkpoint(f, map_location)
    name = f if isinstance(f, (str, os.PathLike)) else None
    options = dict(map_location=map_location)
    if mmap and name is not None and is_whole_torch_file(name) and \
            _mmap_supported():
        options['mmap'] = True
        f = os.fspath(name)  # torch 2.1 maps str paths only
    try:
        if _is_trusted(f):
            return torch.load(f, weights_only=False, **options)
        return torch.load(f, weights_only=True, **options)
    except FileNotFoundError:
        raise
    except Exception as e:
        # a plain pickle (a legacy torch file) failed for its own reasons:
        # its error stands (or the refusal below, for a blocked global)
        if name is not None and osp.isfile(name) and \
                not is_whole_torch_file(name) and \
                not _starts_as_pickle(name):
            size = osp.getsize(name)
            raise CorruptCheckpointError(
                f'Cannot read checkpoint {name} ({size} bytes): it is '
                + ('empty' if size == 0 else 'truncated (e.g. by a crash '
                   'while saving) or not a file written by torch.save')
                + f'. Use another checkpoint. Details: {type(e).__name__}: '
                f'{e}') from None
        if not isinstance(e, pickle.UnpicklingError):
            raise
        raise UnsafeCheckpointError(
            f'Refusing to load checkpoint {name or "<stream>"}: it holds '
            'Python objects that only a full unpickle could rebuild, and '
            'unpickling can run arbitrary code. Checkpoints written by '
            'mmsemanticmim never need this. If you trust where this file '
            f'came from, pass `--trust-checkpoint {name or "FILE"}` to the '
            f'tool (or add the path to the {TRUST_ENV} environment '
            f'variable). Details: {e}') from None


def _load_local(filename: str, map_location: Any = None) -> Any:
    """mmengine's local-file scheme, through :func:`read_checkpoint`."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return read_checkpoint(filename, map_location)


#: URL schemes :func:`read_checkpoint` downloads.
URL_PREFIXES = ('http://', 'https://')


def _download(url: str, model_dir: str = None, progress: bool = False) -> str:
    """The local copy of ``url`` in torch's hub cache, downloaded once
    (local rank 0 first, as mmengine does)."""
    from urllib.parse import urlparse

    from mmengine.dist import get_dist_info
    model_dir = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    path = osp.join(model_dir, osp.basename(urlparse(url).path))
    rank, world_size = get_dist_info()
    if rank == 0 and not osp.isfile(path):
        os.makedirs(model_dir, exist_ok=True)
        torch.hub.download_url_to_file(url, path, progress=progress)
    if world_size > 1:
        torch.distributed.barrier()
    return path


def _load_url(url: str, map_location: Any = None, model_dir: str = None,
              progress: bool = False) -> Any:
    """mmengine's http(s) scheme, through :func:`read_checkpoint`."""
    return read_checkpoint(_download(url, model_dir, progress), map_location)


def register_checkpoint_loaders() -> None:
    """Make mmengine's ``CheckpointLoader`` (``load_from``, ``resume``,
    ``init_cfg=Pretrained`` of every OpenMMLab library) read local files
    and URLs with :func:`read_checkpoint`."""
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', loader=_load_local,
                                     force=True)
    CheckpointLoader.register_scheme(prefixes=URL_PREFIXES,
                                     loader=_load_url, force=True)
