"""Shared fixtures: tiny on-disk data sets written by the tests themselves."""
import os
import os.path as osp

import numpy as np
import pytest

import mmsemanticmim  # noqa: F401  (compat guards before torchvision)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
os.environ.setdefault('OMP_NUM_THREADS', '2')


def write_image_folder(root: str,
                       num_classes: int = 2,
                       per_class: int = 8,
                       size: int = 32,
                       seed: int = 0) -> str:
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


@pytest.fixture(autouse=True)
def _restore_scope():
    """A Runner built in-process from an mmseg / mmdet config leaves its
    default scope current; later tests build in ours."""
    yield
    import uuid

    from mmengine.registry import DefaultScope
    current = DefaultScope.get_current_instance()
    if current is None or current.scope_name != 'mmsemanticmim':
        DefaultScope.get_instance(
            f'tests-{uuid.uuid4()}', scope_name='mmsemanticmim')


def write_ade_folder(root: str,
                     n_train: int = 4,
                     n_val: int = 2,
                     size: int = 64,
                     seed: int = 0) -> str:
    """ADE20K layout: images/{training,validation}/*.jpg and label PNGs
    (0 = ignore, 1..150 classes) under annotations/."""
    import cv2
    rng = np.random.RandomState(seed)
    for split, n in (('training', n_train), ('validation', n_val)):
        os.makedirs(osp.join(root, 'images', split), exist_ok=True)
        os.makedirs(osp.join(root, 'annotations', split), exist_ok=True)
        for i in range(n):
            label = np.zeros((size, size), np.uint8)
            img = rng.randint(0, 60, (size, size, 3)).astype(np.uint8)
            for cls in (1, 2, 3):
                y, x = rng.randint(0, size - 24, 2)
                label[y:y + 24, x:x + 24] = cls
                img[y:y + 24, x:x + 24] = (80 * cls) % 256
            cv2.imwrite(osp.join(root, 'images', split, f'{i:04d}.jpg'), img)
            cv2.imwrite(
                osp.join(root, 'annotations', split, f'{i:04d}.png'), label)
    return root


def write_coco_folder(root: str,
                      n_train: int = 4,
                      n_val: int = 2,
                      size: int = 64,
                      seed: int = 0) -> str:
    """COCO format: images/*.png and annotations/{train,val}.json with boxes
    and polygon masks of squares (class 1) and octagon 'discs' (class 2)."""
    import json

    import cv2
    rng = np.random.RandomState(seed)
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    image_id = ann_id = 0
    for split, n in (('train', n_train), ('val', n_val)):
        images, anns = [], []
        for _ in range(n):
            image_id += 1
            img = np.full((size, size, 3), 30, np.uint8)
            for cat in (1, 2):
                s = int(rng.randint(14, 22))
                x, y = (int(v) for v in rng.randint(0, size - s, 2))
                if cat == 1:
                    poly = [x, y, x + s, y, x + s, y + s, x, y + s]
                else:
                    c, r = (x + s / 2, y + s / 2), s / 2
                    poly = []
                    for k in range(8):
                        a = np.pi / 4 * k
                        poly += [
                            float(c[0] + r * np.cos(a)),
                            float(c[1] + r * np.sin(a))
                        ]
                pts = np.array(poly, np.float32).reshape(-1, 2)
                cv2.fillPoly(img, [pts.astype(np.int32)], (200, 90 * cat, 40))
                x0, y0 = pts.min(0)
                x1, y1 = pts.max(0)
                ann_id += 1
                anns.append(
                    dict(
                        id=ann_id,
                        image_id=image_id,
                        category_id=cat,
                        bbox=[
                            float(x0),
                            float(y0),
                            float(x1 - x0),
                            float(y1 - y0)
                        ],
                        area=float((x1 - x0) * (y1 - y0)),
                        iscrowd=0,
                        segmentation=[[float(v) for v in poly]]))
            name = f'{image_id:04d}.png'
            cv2.imwrite(osp.join(root, 'images', name), img)
            images.append(
                dict(id=image_id, file_name=name, height=size, width=size))
        with open(osp.join(root, 'annotations', f'{split}.json'), 'w') as f:
            json.dump(
                dict(
                    images=images,
                    annotations=anns,
                    categories=[
                        dict(id=1, name='square'),
                        dict(id=2, name='disc')
                    ]), f)
    return root


@pytest.fixture(scope='session')
def cls_folder(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp('cls'))
    write_image_folder(root, per_class=8)
    # a val split with the same classes
    import shutil
    shutil.copytree(osp.join(root, 'train'), osp.join(root, 'val'))
    return root


@pytest.fixture(scope='session')
def ade_folder(tmp_path_factory) -> str:
    return write_ade_folder(str(tmp_path_factory.mktemp('ade')))


@pytest.fixture(scope='session')
def coco_folder(tmp_path_factory) -> str:
    return write_coco_folder(str(tmp_path_factory.mktemp('coco')))


@pytest.fixture(scope='session')
def pretrain_checkpoint(image_folder, tmp_path_factory) -> str:
    """A real (tiny) SemanticMIM pre-training checkpoint: 2 iterations of the
    tiny MaskFeat-target config through the Runner."""
    from mmengine.runner import Runner

    from helpers import TINY_CONFIGS, tiny_cfg
    work = str(tmp_path_factory.mktemp('pretrain'))
    cfg = tiny_cfg(TINY_CONFIGS['maskfeat'], image_folder, work, max_epochs=1)
    cfg.experiment_name = 'pretrain_fixture'
    Runner.from_cfg(cfg).train()
    return osp.join(work, 'epoch_1.pth')
