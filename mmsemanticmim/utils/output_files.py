"""How the tools write their outputs: never over an input, never half."""
import os
import os.path as osp
from contextlib import contextmanager
from typing import Iterator, Optional


def _same_file(a: str, b: str) -> bool:
    if osp.exists(a) and osp.exists(b):
        return osp.samefile(a, b)  # also through links and hard links
    return osp.realpath(a) == osp.realpath(b)


def refuse_overwriting_input(outputs, inputs) -> None:
    """Raise before any reading when an output path is an input file.

    Args:
        outputs (Iterable[str]): Paths the tool will write.
        inputs (Iterable[Optional[str]]): Paths it reads (None skipped).

    Raises:
        ValueError: Naming both paths and the fix.
    """
    for out in outputs:
        for src in inputs:
            if src is not None and _same_file(out, src):
                raise ValueError(
                    f'output {out} is the input {src}' +
                    ('' if out == src else ' (the same file)') +
                    ': writing it would replace the input. Choose another '
                    'output path. Nothing written.')


@contextmanager
def written_atomically(path: str) -> Iterator[str]:
    """Yield a temporary path beside ``path``; rename it to ``path`` when
    the block succeeds, remove it when it fails, so ``path`` is either the
    old file or the whole new one.

    Args:
        path (str): The final output path (its folder is created).
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = osp.join(folder, f'.{osp.basename(path)}.{os.getpid()}.tmp')
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def existing(path: Optional[str]) -> Optional[str]:
    """``path`` if it exists, else None (for inputs that are optional)."""
    return path if path is not None and osp.exists(path) else None
