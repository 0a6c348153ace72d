"""Image loading that names the file it could not read."""
from typing import Optional

from mmcv.transforms import LoadImageFromFile

from mmsemanticmim.registry import TRANSFORMS


@TRANSFORMS.register_module()
class StrictLoadImageFromFile(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` that fails with the file's name.

    The parent raises the decoder's bare exception or an ``assert`` (gone
    under ``python -O``) for a missing, unreadable or corrupt file; this one
    always raises ``OSError`` naming the file and what to do.
    """

    def transform(self, results: dict) -> Optional[dict]:
        filename = results.get('img_path', '<unknown>')
        try:
            out = super().transform(results)
        except Exception as e:  # noqa: BLE001 - re-raised with the file name
            raise OSError(f'Cannot read image {filename}: {e}. Check the '
                          'file (re-download or remove it from the '
                          'annotation list).') from e
        if out is None or out.get('img') is None:
            if self.ignore_empty:
                return None
            raise OSError(f'Cannot decode image {filename}: the file is '
                          'empty or corrupt. Re-download it or remove it '
                          'from the annotation list.')
        return out
