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

from mmsemanticmim.datasets.digit_folders import (DEBIAN_DIR,
                                                  write_fashion_mnist)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out', nargs='?', default='data/fashion_mnist_demo')
    parser.add_argument('--source', default=DEBIAN_DIR)
    parser.add_argument('--num-train', type=int, default=4000)
    parser.add_argument('--num-val', type=int, default=1000)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    counts = write_fashion_mnist(args.out, args.source, args.num_train,
                                 args.num_val, args.seed)
    print(f'wrote {counts} images under {args.out}')


if __name__ == '__main__':
    main()
