"""Fail before training when a data set's folder is missing, empty or laid
out differently from what its config reads.

mmseg / mmdet / mmpretrain data sets report an empty or mis-laid folder late
and obscurely (``need at least one array to concatenate``, an empty
sampler); this check runs in the tools, before anything is built, and says
which folder was expected to hold what.
"""
import os
import os.path as osp
from typing import Iterator, Optional

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp',
                  '.ppm', '.pgm')

LAYOUTS = {
    'seg': ('{root}/{img}/*{img_suffix} images and {root}/{seg}/*{seg_suffix}'
            ' label maps of the same names (ADE20K: images/training, '
            'annotations/training, images/validation, '
            'annotations/validation)'),
    'coco': ('a COCO json at {ann} and its images under {root}/{img} '
             '(e.g. annotations/instances_train2017.json and train2017/)'),
    'folder': ('one sub-folder of images per class under {root}/{prefix} '
               '(e.g. train/n01440764/*.JPEG), or an ann_file list'),
}


class DataRootError(FileNotFoundError):
    """A data set folder that is missing, empty or mis-laid."""


SPLITS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _datasets(cfg, splits=SPLITS) -> Iterator[tuple]:
    for split in splits:
        loader = cfg.get(split, None)
        if not loader or not loader.get('dataset'):
            continue
        stack = [loader['dataset']]
        while stack:
            ds = stack.pop()
            if 'datasets' in ds:
                stack.extend(ds['datasets'])
            elif 'dataset' in ds:
                stack.append(ds['dataset'])
            else:
                yield split, ds


def _join(root: Optional[str], path: str) -> str:
    return path if not root or osp.isabs(path) else osp.join(root, path)


def _has_files(folder: str, suffixes) -> bool:
    if not osp.isdir(folder):
        return False
    for _, _, files in os.walk(folder):
        if any(f.lower().endswith(suffixes) for f in files):
            return True
    return False


def _fail(split: str, ds: dict, what: str, layout: str, **kw) -> None:
    raise DataRootError(
        f'{split}.dataset ({ds.get("type")}): {what}. Expected ' +
        LAYOUTS[layout].format(**kw) +
        f'. Set {split}.dataset.data_root (now {ds.get("data_root")!r}).')


def check_data_roots(cfg, splits=SPLITS) -> None:
    """Check every data set of the config's dataloaders.

    Local folders only: a ``data_root`` that is a URL (``s3://``...) or a
    data set read through ``backend_args`` is left to its backend.

    Args:
        cfg (mmengine.Config): The config a tool is about to run.
        splits (Sequence[str]): Which dataloaders to check (evaluation
            needs only ``test_dataloader``).

    Raises:
        DataRootError: Naming the split, the folder and the layout expected.
    """
    for split, ds in _datasets(cfg, splits):
        kind = str(ds.get('type', '')).split('.')[-1]
        root = ds.get('data_root', None) or ''
        if '://' in str(root) or ds.get('backend_args') or \
                ds.get('file_client_args'):
            continue
        raw_prefix = ds.get('data_prefix', None) or {}
        prefix = raw_prefix if isinstance(raw_prefix, dict) else {}
        ann = ds.get('ann_file', None) or ''
        if root and not osp.isdir(root):
            what = ('is a file, not a folder'
                    if osp.exists(root) else 'does not exist')
            _fail(
                split,
                ds,
                f'data_root {root} {what}',
                'folder' if kind not in ('CocoDataset', ) else 'coco',
                root=root,
                prefix=raw_prefix,
                ann=ann,
                img='')
        if 'seg_map_path' in prefix:  # mmseg's BaseSegDataset family
            img = _join(root, prefix.get('img_path', ''))
            seg = _join(root, prefix['seg_map_path'])
            kw = dict(
                root=root,
                img=prefix.get('img_path', ''),
                seg=prefix['seg_map_path'],
                img_suffix=ds.get('img_suffix', '.jpg'),
                seg_suffix=ds.get('seg_map_suffix', '.png'))
            if not _has_files(img, IMAGE_SUFFIXES):
                _fail(split, ds, f'no images in {img}', 'seg', **kw)
            if not _has_files(seg, IMAGE_SUFFIXES):
                _fail(split, ds, f'no label maps in {seg}', 'seg', **kw)
        elif kind.endswith('CocoDataset') or (ann.endswith('.json')
                                              and 'img' in prefix):
            ann_path = _join(root, ann)
            img = _join(root, prefix.get('img', ''))
            kw = dict(root=root, ann=ann_path, img=prefix.get('img', ''))
            if not osp.isfile(ann_path):
                _fail(split, ds, f'annotation file {ann_path} not found',
                      'coco', **kw)
            if not _has_files(img, IMAGE_SUFFIXES):
                _fail(split, ds, f'no images in {img}', 'coco', **kw)
        elif kind in ('CustomDataset', 'ImageNet', 'ImageNet21k'):
            sub = raw_prefix if isinstance(raw_prefix, str) else \
                prefix.get('img_path', '')
            folder = _join(root, sub)
            if ann:
                if not osp.isfile(_join(root, ann)):
                    _fail(
                        split,
                        ds, f'ann_file {_join(root, ann)} not '
                        'found',
                        'folder',
                        root=root,
                        prefix=sub)
            else:
                _check_class_folder(split, ds, root, sub, folder)


def _check_class_folder(split: str, ds: dict, root: str, sub: str,
                        folder: str) -> None:
    """A folder data set without ``ann_file``: mmpretrain takes every
    sub-folder as a class and loads only its extensions; say so before it
    fails with "Found 0 files in subfolders"."""
    from .class_folder import broken_links, count_images, loadable_extensions
    extensions = loadable_extensions(ds)
    subfolders = [d for d in sorted(os.listdir(folder))
                  if osp.isdir(osp.join(folder, d))] if osp.isdir(folder) \
        else []
    loadable = sum(
        count_images(osp.join(folder, d), extensions) for d in subfolders)
    if loadable:
        broken = [
            link for d in subfolders
            for link in broken_links(osp.join(folder, d), extensions)
        ]
        if broken:
            _fail(
                split,
                ds, f'{len(broken)} image links under {folder} '
                f'point to nothing (first: {broken[:3]}); mmpretrain '
                'would skip them without a word. Repair or remove them',
                'folder',
                root=root,
                prefix=sub)
        return
    flat = [
        f for f in (os.listdir(folder) if osp.isdir(folder) else []) if
        osp.isfile(osp.join(folder, f)) and f.lower().endswith(IMAGE_SUFFIXES)
    ]
    if flat and not subfolders:
        _fail(
            split,
            ds, f'{folder} holds {len(flat)} images but no class '
            'sub-folders (mmpretrain reads one sub-folder per class). '
            'Move them into class folders, or write an ann_file listing '
            'them',
            'folder',
            root=root,
            prefix=sub)
    other = count_images(folder, IMAGE_SUFFIXES) if osp.isdir(folder) else 0
    if other:
        _fail(
            split,
            ds, f'the images under {folder} have none of the '
            f'extensions the data set loads ({", ".join(extensions)}): '
            f'set {split}.dataset.extensions to include theirs',
            'folder',
            root=root,
            prefix=sub)
    _fail(
        split,
        ds,
        f'no images under {folder}',
        'folder',
        root=root,
        prefix=sub)
