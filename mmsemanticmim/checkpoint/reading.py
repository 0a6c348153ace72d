"""Reading checkpoint files without running code from them.

torch >= 2.6 unpickles with ``weights_only=True`` by default, torch 2.1 does
not, and mmengine's loaders may still ask for full unpickling (its fix for
open-mmlab/mmengine#1655, PR #1670, does). Every torch checkpoint read by
this package goes through :func:`read_checkpoint` (``.safetensors`` files,
which hold no pickle, are read by ``safetensors`` in ``timm_files``).

``import mmsemanticmim`` changes none of this for other code: OpenMMLab's
loaders (``load_from``, ``resume``, ``init_cfg=Pretrained`` of other
libraries' modules) keep mmengine's stock ``CheckpointLoader`` until a
process opts in with :func:`register_checkpoint_loaders` (what
``mmsemanticmim.setup_env()`` calls; our tools and runners call it at their
entry), which routes local files and http(s) URLs through
:func:`read_checkpoint` via mmengine's documented extension point.
``torch.load`` itself is left as torch ships it.

mmengine's other schemes (``torchvision://``, ``open-mmlab://``, ``s3://``,
...) call its own download helpers directly and keep torch's default;
:func:`read_checkpoint` hands such names to them.
"""
import hashlib
import os
import os.path as osp
import pickle
import re
import sys
from typing import Any, Optional

import torch

#: Environment variable holding checkpoint paths the user trusts with
#: full unpickling (``os.pathsep``-separated). Set by ``--trust-checkpoint``.
TRUST_ENV = 'MMSEMANTICMIM_TRUSTED_CHECKPOINTS'

#: The command-line flag of the running tool that trusts a file, if any
#: (set by :func:`set_trust_flag`); elsewhere a refusal names the call and
#: the environment variable.
_trust_flag: Optional[str] = None


def set_trust_flag(flag: Optional[str]) -> None:
    """Name the running tool's flag (e.g. ``'--trust-checkpoint'``) in
    refusals: a tool that parses such a flag calls this at its entry."""
    global _trust_flag
    _trust_flag = flag


def _trust_advice(name: Optional[str]) -> str:
    target = name or 'FILE'
    if _trust_flag is not None:
        return (f'pass `{_trust_flag} {target}` to the tool (or add the path '
                f'to the {TRUST_ENV} environment variable)')
    return (
        f'call `mmsemanticmim.checkpoint.trust_checkpoint({target!r})` before '
        f'loading, or add the path to the {TRUST_ENV} environment '
        'variable')


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
    """Allow ``path`` to be loaded with full unpickling
    (``weights_only=False``).

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


def read_checkpoint(f: Any,
                    map_location: Any = 'cpu',
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
                f'Cannot read checkpoint {name} ({size} bytes): it is ' +
                ('empty' if size == 0 else 'truncated (e.g. by a crash '
                 'while saving) or not a file written by torch.save') +
                f'. Use another checkpoint. Details: {type(e).__name__}: '
                f'{e}') from None
        if not isinstance(e, pickle.UnpicklingError):
            raise
        raise UnsafeCheckpointError(
            f'Refusing to load checkpoint {name or "<stream>"}: it holds '
            'Python objects that only a full unpickle could rebuild, and '
            'unpickling can run arbitrary code. Checkpoints written by '
            'mmsemanticmim never need this. If you trust where this file '
            f'came from, {_trust_advice(name)}. Details: {e}') from None


def _load_local(filename: str, map_location: Any = None) -> Any:
    """mmengine's local-file scheme, through :func:`read_checkpoint`."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return read_checkpoint(filename, map_location)


#: URL schemes :func:`read_checkpoint` downloads.
URL_PREFIXES = ('http://', 'https://')

#: OpenMMLab's release names, ``NAME_YYYYMMDD-<hex>.ext`` (what
#: ``publish_model.py`` writes): the hex digits start the file's SHA-256,
#: checked as torch.hub checks them. Other names (``model-20240101.pth``)
#: are not taken for a hash.
HASH_PREFIX = re.compile(r'_\d{8}-([a-f0-9]{8,64})\.[^/]*$')


def url_hash_prefix(url: str) -> Optional[str]:
    """The SHA-256 prefix a URL's file name promises, if it has one."""
    from urllib.parse import urlparse
    match = HASH_PREFIX.search(osp.basename(urlparse(url).path))
    return match.group(1) if match else None


def _sha256_startswith(path: str, prefix: str) -> bool:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest().startswith(prefix)


def download_path(url: str, model_dir: Optional[str] = None) -> str:
    """Where :func:`read_checkpoint` caches ``url``: one folder per whole
    URL (two URLs with the same file name never share an entry), the file
    keeping its name."""
    from urllib.parse import urlparse
    model_dir = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints',
                                      'mmsemanticmim')
    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    return osp.join(model_dir, key, osp.basename(urlparse(url).path))


def _download(url: str,
              model_dir: Optional[str] = None,
              progress: Optional[bool] = None) -> str:
    """The local copy of ``url``, downloaded once by rank 0 while the
    others wait (the cache must be shared by the nodes, as for mmengine's
    loader). A release name (``NAME_YYYYMMDD-<sha256[:8]>``)
    is checked against it, on download and in the cache: a cached copy that
    does not match is downloaded again. ``progress`` defaults to a bar on a
    terminal."""
    from mmengine.dist import get_dist_info
    path = download_path(url, model_dir)
    prefix = url_hash_prefix(url)
    if progress is None:
        progress = sys.stderr.isatty()
    rank, world_size = get_dist_info()
    if rank == 0:
        stale = osp.isfile(path) and prefix is not None and \
            not _sha256_startswith(path, prefix)
        if stale:
            os.remove(path)
        if not osp.isfile(path):
            os.makedirs(osp.dirname(path), exist_ok=True)
            # torch.hub writes a temporary file and renames it into place,
            # and raises naming both hashes when the prefix does not match
            torch.hub.download_url_to_file(
                url, path, hash_prefix=prefix, progress=progress)
    if world_size > 1:
        torch.distributed.barrier()
    return path


def _load_url(url: str,
              map_location: Any = None,
              model_dir: Optional[str] = None,
              progress: Optional[bool] = None) -> Any:
    """mmengine's http(s) scheme, through :func:`read_checkpoint`."""
    return read_checkpoint(_download(url, model_dir, progress), map_location)


def register_checkpoint_loaders() -> None:
    """Make mmengine's ``CheckpointLoader`` (``load_from``, ``resume``,
    ``init_cfg=Pretrained`` of every OpenMMLab library) read local files
    and URLs with :func:`read_checkpoint`, for the rest of the process.

    An opt-in (``mmsemanticmim.setup_env()`` calls it; importing the
    package does not): afterwards a checkpoint that needs a full unpickle
    (e.g. one written by a stock mmengine Runner, whose message hub holds
    Python objects) is refused unless trusted (:func:`trust_checkpoint`).
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(
        prefixes='', loader=_load_local, force=True)
    CheckpointLoader.register_scheme(
        prefixes=URL_PREFIXES, loader=_load_url, force=True)
