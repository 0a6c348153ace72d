"""Shared fixtures: tiny on-disk data sets written by the tests themselves."""
import os
import os.path as osp

import mmsemanticmim  # noqa: F401  (compat guards before torchvision)
import numpy as np
import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
os.environ.setdefault('OMP_NUM_THREADS', '2')


def write_image_folder(root: str, num_classes: int = 2, per_class: int = 8,
                       size: int = 32, seed: int = 0) -> str:
    """A CustomDataset tree of random-noise PNGs: root/train/<class>/*.png."""
    import cv2
    rng = np.random.RandomState(seed)
    for c in range(num_classes):
        folder = osp.join(root, 'train', f'class_{c}')
        os.makedirs(folder, exist_ok=True)
        for i in range(per_class):
            img = rng.randint(0, 256, (size, size, 3), dtype=np.uint8)
            img[:, :, c % 3] = 255 * (i % 2)  # some structure per class
            cv2.imwrite(osp.join(folder, f'{i:03d}.png'), img)
    return root


@pytest.fixture(scope='session')
def image_folder(tmp_path_factory) -> str:
    return write_image_folder(str(tmp_path_factory.mktemp('images')))


@pytest.fixture(scope='session', autouse=True)
def _scope():
    from mmsemanticmim.utils import register_all_modules
    register_all_modules(init_default_scope=True)
