"""Write Fashion-MNIST from Debian's ``dataset-fashion-mnist`` as an image
folder.

Debian packages the 70,000 28x28 Zalando images (``apt-get install
dataset-fashion-mnist``: the four idx files under
/usr/share/datasets/fashion-mnist), so nothing is downloaded. A seeded
random subset of the 60,000 training images becomes ``train`` and of the
10,000 test images ``val``, as an mmpretrain ``CustomDataset`` tree::

    OUT/train/<label>-<class>/<index>.png   4,000 images by default
    OUT/val/<label>-<class>/<index>.png     1,000 images by default
    OUT/meta.json                           name, source, counts

The default sizes are the embedded digits' (tools/dataset_converters/
mnist_to_folder.py), so the two study tables share one budget.

Usage: python tools/dataset_converters/fashion_mnist_to_folder.py [OUT]
           [--source /usr/share/datasets/fashion-mnist]
           [--num-train 4000] [--num-val 1000] [--seed 0]
(--num-train 0 / --num-val 0: every image of that file.)
"""
import argparse
import gzip
import os.path as osp
from typing import Tuple

import numpy as np

from mmsemanticmim.datasets.class_folder import write_class_folder

DEBIAN_DIR = '/usr/share/datasets/fashion-mnist'
CLASSES = ('T-shirt_top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal',
           'Shirt', 'Sneaker', 'Bag', 'Ankle_boot')
# folder names sort in label order, as CustomDataset numbers them
FOLDERS = tuple(f'{i}-{name}' for i, name in enumerate(CLASSES))


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
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big')
                  for i in range(ndim))
    body = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f'{path}: {body.size} values for shape {shape}; '
                         'the file is truncated')
    return body.reshape(shape)


def load(source: str, kind: str) -> Tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) and labels (N, ) of ``train`` or ``t10k``."""
    images = read_idx(osp.join(source, f'{kind}-images-idx3-ubyte.gz'),
                      2051)
    labels = read_idx(osp.join(source, f'{kind}-labels-idx1-ubyte.gz'),
                      2049)
    if len(images) != len(labels) or labels.max() >= len(CLASSES):
        raise ValueError(f'{source}: {kind} images and labels do not match')
    return images, labels


def convert(out_dir: str, source: str = DEBIAN_DIR, num_train: int = 4000,
            num_val: int = 1000, seed: int = 0) -> dict:
    """Write the folder tree and return the image count of each split."""
    rng = np.random.RandomState(seed)
    splits = {}
    for split, kind, num in (('train', 'train', num_train),
                             ('val', 't10k', num_val)):
        images, labels = load(source, kind)
        if num > len(labels):
            raise ValueError(f'{split}: {num} images asked, the {kind} file '
                             f'holds {len(labels)}')
        keep = rng.permutation(len(labels))[:num] if num else slice(None)
        splits[split] = (images[keep], labels[keep])
    return write_class_folder(out_dir, splits, FOLDERS, 'Fashion-MNIST',
                              f"{source} (Debian's dataset-fashion-mnist)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out', nargs='?', default='data/fashion_mnist_demo')
    parser.add_argument('--source', default=DEBIAN_DIR)
    parser.add_argument('--num-train', type=int, default=4000)
    parser.add_argument('--num-val', type=int, default=1000)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    counts = convert(args.out, args.source, args.num_train, args.num_val,
                     args.seed)
    print(f'wrote {counts} images under {args.out}')


if __name__ == '__main__':
    main()
