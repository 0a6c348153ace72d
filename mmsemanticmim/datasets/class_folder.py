"""Class-folder image sets: written by the converters, described from disk.

The layout is mmpretrain's ``CustomDataset`` with one sub-folder per class
under each split (``ROOT/train/<class>/*.png``, ``ROOT/val/...``), the
layout of an ImageNet-format folder. A converter also writes
``ROOT/meta.json`` (name, source); the image counts a report states are
always counted on disk, never taken from there.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

META_FILE = 'meta.json'


def loadable_extensions(dataset: Optional[dict] = None) -> Tuple[str, ...]:
    """The file extensions mmpretrain's ``CustomDataset`` loads: the data
    set config's ``extensions``, else the class's default (read from its
    signature, so that a count here is what mmpretrain will load: a
    ``.webp`` is skipped by its default)."""
    import inspect

    from mmpretrain.datasets import CustomDataset
    given = (dataset or {}).get('extensions')
    if given is None:
        given = inspect.signature(
            CustomDataset.__init__).parameters['extensions'].default
    return tuple(e.lower() for e in given)


def count_images(folder: str, extensions: Sequence[str]) -> int:
    """Files under ``folder`` (recursively, as mmpretrain walks a class
    folder) with one of ``extensions``."""
    extensions = tuple(extensions)
    return sum(1 for _, _, files in os.walk(folder) for f in files
               if f.lower().endswith(extensions))


def broken_links(folder: str, extensions: Sequence[str]) -> List[str]:
    """Symbolic links under ``folder`` with one of ``extensions`` whose
    target is missing (mmpretrain's folder scan skips them)."""
    extensions, broken, folders = tuple(extensions), [], [folder]
    while folders:  # scandir: only links are stat-ed, not every image
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):  # as os.walk
                    folders.append(entry.path)
                elif entry.is_symlink() and entry.name.lower().endswith(
                        extensions) and not osp.exists(entry.path):
                    broken.append(entry.path)
    return sorted(broken)


def write_class_folder(out_dir: str, splits: Dict[str, Tuple[np.ndarray,
                                                             np.ndarray]],
                       class_names: Sequence[str], name: str,
                       source: str) -> Dict[str, int]:
    """Write uint8 images as PNG files, one sub-folder per class.

    Args:
        out_dir (str): The data root.
        splits (dict): ``{split: (images (N, H, W[, C]) uint8, labels (N,)
            int)}``.
        class_names (Sequence[str]): Folder name of each label; they are
            sorted as the labels are, as ``CustomDataset`` numbers the
            folders in sorted order.
        name (str): The data set's name, for ``meta.json``.
        source (str): Where the images came from, for ``meta.json``.

    Returns:
        dict[str, int]: The number of images written per split.
    """
    import cv2
    for split in splits:
        folder = osp.join(out_dir, split)
        if osp.isdir(folder) and os.listdir(folder):
            raise FileExistsError(
                f'{folder} is not empty: remove it first, or write '
                'elsewhere (old images would stay mixed with the new)')
    if list(class_names) != sorted(class_names):
        raise ValueError('class_names must sort in label order, got '
                         f'{list(class_names)}')
    counts = {}
    for split, (images, labels) in splits.items():
        if len(images) != len(labels):
            raise ValueError(f'{split}: {len(images)} images, '
                             f'{len(labels)} labels')
        for i, (image, label) in enumerate(zip(images, labels)):
            folder = osp.join(out_dir, split, class_names[int(label)])
            os.makedirs(folder, exist_ok=True)
            path = osp.join(folder, f'{i:05d}.png')
            if not cv2.imwrite(path, image):
                raise OSError(f'could not write {path}')
        counts[split] = len(images)
    with open(osp.join(out_dir, META_FILE), 'w') as f:
        json.dump(
            dict(
                name=name,
                source=source,
                classes=list(class_names),
                images=counts),
            f,
            indent=1)
    return counts


def describe_class_folder(root: str,
                          splits: Sequence[str] = ('train', 'val')) -> dict:
    """What a class folder really holds, counted on disk.

    Returns:
        dict: ``name`` (``meta.json``'s, else the folder's name),
        ``source`` (``meta.json``'s or ''), ``images`` and ``classes`` per
        split, and ``caption``, e.g. ``'Fashion-MNIST (4,000 train / 1,000
        val images, 10 classes)'``.
    """
    meta = {}
    if osp.isfile(osp.join(root, META_FILE)):
        with open(osp.join(root, META_FILE)) as f:
            meta = json.load(f)
    images, classes = {}, {}
    extensions = loadable_extensions()
    for split in splits:
        folder = osp.join(root, split)
        if not osp.isdir(folder):
            raise FileNotFoundError(
                f'{folder} not found: a class folder has one sub-folder '
                'per class under each split')
        names = sorted(
            d for d in os.listdir(folder) if osp.isdir(osp.join(folder, d)))
        classes[split] = len(names)
        images[split] = sum(
            count_images(osp.join(folder, d), extensions) for d in names)
    name = meta.get('name') or osp.basename(osp.normpath(root))
    sizes = ' / '.join(f'{images[s]:,} {s}' for s in splits)
    if len(set(classes.values())) == 1:
        cls_text = f'{classes[splits[0]]} classes'
    else:
        cls_text = ' / '.join(f'{classes[s]} {s}' for s in splits) + \
            ' classes'
    return dict(
        name=name,
        source=meta.get('source', ''),
        images=images,
        classes=classes,
        caption=f'{name} ({sizes} images, '
        f'{cls_text})')
