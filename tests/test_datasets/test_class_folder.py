"""Class folders: the Fashion-MNIST converter, meta.json, on-disk counts."""
import gzip
import json
import os
import os.path as osp

import numpy as np
import pytest


def _write_idx(path, array, magic):
    header = magic.to_bytes(4, 'big') + b''.join(
        d.to_bytes(4, 'big') for d in array.shape)
    with gzip.open(path, 'wb') as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def fake_fashion(tmp_path):
    """Four idx files in Fashion-MNIST's layout: 30 train and 20 test
    images, each image's pixels equal to its label times 20."""
    src = tmp_path / 'src'
    src.mkdir()
    for kind, n in (('train', 30), ('t10k', 20)):
        labels = np.arange(n) % 10
        images = np.repeat(labels * 20, 28 * 28).reshape(n, 28, 28)
        _write_idx(src / f'{kind}-images-idx3-ubyte.gz', images, 2051)
        _write_idx(src / f'{kind}-labels-idx1-ubyte.gz', labels, 2049)
    return str(src)


def test_fashion_mnist_converter(fake_fashion, tmp_path):
    import cv2

    from mmsemanticmim.datasets.class_folder import describe_class_folder
    from mmsemanticmim.datasets.digit_folders import FASHION_FOLDERS as FOLDERS
    from mmsemanticmim.datasets.digit_folders import \
        write_fashion_mnist as convert
    out = str(tmp_path / 'out')
    assert convert(
        out, fake_fashion, num_train=12, num_val=0) == {
            'train': 12,
            'val': 20
        }
    info = describe_class_folder(out)
    assert info['images'] == {'train': 12, 'val': 20}
    assert info['classes']['val'] == 10
    n_train = len(os.listdir(osp.join(out, 'train')))  # 12 of 30 drawn
    assert n_train < 10  # this seed's draw misses a class
    assert info['caption'] == (
        f'Fashion-MNIST (12 train / 20 val images, {n_train} train / 10 '
        'val classes)')
    assert convert(
        out + '2', fake_fashion, num_train=0, num_val=0) == {
            'train': 30,
            'val': 20
        }
    assert describe_class_folder(out + '2')['caption'] == (
        'Fashion-MNIST (30 train / 20 val images, 10 classes)')
    assert fake_fashion in info['source']
    # every image sits in its label's folder (pixels = 20 x label)
    for i, folder in enumerate(FOLDERS):
        for name in os.listdir(osp.join(out, 'val', folder)):
            img = cv2.imread(
                osp.join(out, 'val', folder, name), cv2.IMREAD_GRAYSCALE)
            assert img.shape == (28, 28) and (img == 20 * i).all()
    assert sorted(FOLDERS) == list(FOLDERS)  # CustomDataset's label order
    with pytest.raises(FileExistsError, match='is not empty'):
        convert(out, fake_fashion, num_train=12, num_val=0)
    with pytest.raises(ValueError, match='21 images asked'):
        convert(str(tmp_path / 'x'), fake_fashion, num_train=1, num_val=21)


def test_fashion_mnist_converter_refuses_bad_sources(fake_fashion, tmp_path):
    from mmsemanticmim.datasets.digit_folders import read_idx
    from mmsemanticmim.datasets.digit_folders import \
        write_fashion_mnist as convert
    with pytest.raises(
            FileNotFoundError, match='apt-get install '
            'dataset-fashion-mnist'):
        convert(str(tmp_path / 'o'), str(tmp_path / 'missing'))
    labels = osp.join(fake_fashion, 'train-labels-idx1-ubyte.gz')
    with pytest.raises(ValueError, match='idx magic 2049, expected 2051'):
        read_idx(labels, 2051)
    with gzip.open(labels, 'rb') as f:
        data = f.read()
    with gzip.open(labels, 'wb') as f:
        f.write(data[:-3])
    with pytest.raises(ValueError, match='truncated'):
        read_idx(labels, 2049)


def test_describe_a_folder_without_meta(cls_folder, tmp_path):
    from mmsemanticmim.datasets.class_folder import describe_class_folder
    info = describe_class_folder(cls_folder)
    assert info['name'] == osp.basename(cls_folder)
    assert info['caption'].endswith('(16 train / 16 val images, 2 classes)')
    with pytest.raises(FileNotFoundError, match='one sub-folder per class'):
        describe_class_folder(str(tmp_path))


def test_write_class_folder_checks_its_input(tmp_path):
    from mmsemanticmim.datasets.class_folder import write_class_folder
    images = np.zeros((2, 4, 4), np.uint8)
    with pytest.raises(ValueError, match='sort in label order'):
        write_class_folder(
            str(tmp_path), {'train': (images, [0, 1])}, ['b', 'a'], 'x', 'y')
    with pytest.raises(ValueError, match='2 images, 1 labels'):
        write_class_folder(
            str(tmp_path), {'train': (images, [0])}, ['a', 'b'], 'x', 'y')
    write_class_folder(
        str(tmp_path), {'train': (images, [0, 1])}, ['a', 'b'], 'toy', 'here')
    meta = json.load(open(tmp_path / 'meta.json'))
    assert meta == dict(
        name='toy', source='here', classes=['a', 'b'], images={'train': 2})


def test_counts_what_mmpretrain_loads(tmp_path):
    """A .webp is not among CustomDataset's default extensions: it is not
    counted, and a folder of only such files is named with the fix."""
    import cv2
    from mmengine.config import Config

    from mmsemanticmim.datasets import DataRootError, check_data_roots
    from mmsemanticmim.datasets.class_folder import describe_class_folder
    for split in ('train', 'val'):
        (tmp_path / split / 'c0').mkdir(parents=True)
        cv2.imwrite(
            str(tmp_path / split / 'c0' / 'a.png'),
            np.zeros((8, 8, 3), np.uint8))
        (tmp_path / split / 'c0' / 'b.webp').write_bytes(b'RIFF')
        (tmp_path / split / 'c0' / 'deep').mkdir()
        cv2.imwrite(
            str(tmp_path / split / 'c0' / 'deep' / 'c.png'),
            np.zeros((8, 8, 3), np.uint8))
    assert describe_class_folder(str(tmp_path))['images'] == {
        'train': 2,
        'val': 2
    }
    webp = tmp_path / 'webp' / 'train' / 'c0'
    webp.mkdir(parents=True)
    (webp / 'x.webp').write_bytes(b'RIFF')
    flat = tmp_path / 'flat' / 'train'
    flat.mkdir(parents=True)
    cv2.imwrite(str(flat / 'x.png'), np.zeros((8, 8, 3), np.uint8))
    cfg = Config(
        dict(
            train_dataloader=dict(
                dataset=dict(
                    type='CustomDataset',
                    data_root=str(tmp_path / 'webp'),
                    data_prefix='train'))))
    with pytest.raises(
            DataRootError,
            match='extensions the data set loads'
            '.*set train_dataloader.dataset.extensions'):
        check_data_roots(cfg)
    cfg.train_dataloader.dataset.extensions = ['.webp']
    check_data_roots(cfg)
    cfg.train_dataloader.dataset.data_root = str(tmp_path / 'flat')
    with pytest.raises(
            DataRootError, match='holds 1 images but no class '
            'sub-folders'):
        check_data_roots(cfg)


def test_zero_workers_drop_persistent_workers():
    from mmengine.config import Config

    from mmsemanticmim.engine.runners.build import allow_zero_workers
    cfg = Config(
        dict(
            train_dataloader=dict(
                num_workers=0, persistent_workers=True, prefetch_factor=2),
            val_dataloader=dict(num_workers=2, persistent_workers=True)))
    allow_zero_workers(cfg)
    assert 'persistent_workers' not in cfg.train_dataloader
    assert 'prefetch_factor' not in cfg.train_dataloader
    assert cfg.val_dataloader.persistent_workers
