"""Image loading that names the file it could not read."""
from typing import Optional

from mmcv.transforms import LoadImageFromFile
from mmengine.logging import print_log

from mmsemanticmim.registry import TRANSFORMS

#: How to get rid of a bad file, whatever the data set reads.
ADVICE = ('Re-download or delete it (a folder data set then no longer '
          'sees it; a data set read from an ann_file needs its line '
          'removed), or set skip_corrupt=True in this transform to skip '
          'unreadable images with a warning.')


class TooManyCorruptImagesError(OSError):
    """``skip_corrupt`` met more unreadable images than it may skip."""


@TRANSFORMS.register_module()
class StrictLoadImageFromFile(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` that fails with the file's name.

    The parent raises the decoder's bare exception or an ``assert`` (gone
    under ``python -O``) for a missing, unreadable or corrupt file; this one
    always raises ``OSError`` naming the file and what to do.

    With ``skip_corrupt=True`` an unreadable image is skipped instead (a
    warning names it): the transform returns None, and mmengine's training
    data set draws another sample in its place (evaluation data sets refuse
    a skipped sample, as a metric over fewer images is not the metric).
    After ``max_skipped`` skips in one process (the main one or a data
    loader worker) it gives up, as timm's ``ImageDataset`` does: that many
    bad files is a broken copy, not a stray file.

    Args:
        skip_corrupt (bool): Skip unreadable images with a warning instead
            of stopping. Defaults to False.
        max_skipped (int): Skips after which a ``skip_corrupt`` run stops.
            Defaults to 50.
        **kwargs: ``LoadImageFromFile``'s.
    """

    def __init__(self,
                 skip_corrupt: bool = False,
                 max_skipped: int = 50,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if max_skipped < 1:
            raise ValueError(f'max_skipped must be >= 1, got {max_skipped}')
        self.skip_corrupt = skip_corrupt
        self.max_skipped = max_skipped
        #: Images skipped so far in this process.
        self.skipped = 0

    def _unreadable(self,
                    filename: str,
                    why: str,
                    cause: Optional[Exception] = None) -> None:
        if not self.skip_corrupt:
            raise OSError(f'{why} {filename}. {ADVICE}') from cause
        self.skipped += 1
        if self.skipped > self.max_skipped:
            raise TooManyCorruptImagesError(
                f'{why} {filename}: {self.skipped} unreadable images '
                f'skipped in this process, more than max_skipped='
                f'{self.max_skipped}. Check the data set copy.') from cause
        print_log(
            f'Skipped an unreadable image ({self.skipped} so far in '
            f'this process): {filename}' + (f' ({cause})' if cause else ''),
            logger='current',
            level=30)

    def transform(self, results: dict) -> Optional[dict]:
        filename = results.get('img_path', '<unknown>')
        try:
            out = super().transform(results)
        except Exception as e:  # noqa: BLE001 - re-raised with the file name
            self._unreadable(filename, f'Cannot read image ({e}):', e)
            return None
        if out is None or out.get('img') is None:
            if self.ignore_empty:
                return None
            self._unreadable(
                filename, 'Cannot decode image (the file is '
                'empty or corrupt):')
            return None
        return out
