import math

import numpy as np
import pytest

from mmsemanticmim.datasets import (SemanticMIMMaskGenerator,
                                    StrictLoadImageFromFile)


@pytest.mark.parametrize('ratio', [0.4, 0.6, 0.75, 0.8])
def test_exact_count_every_image(ratio):
    gen = SemanticMIMMaskGenerator(224, 16, 16, ratio)
    counts = {int(gen.transform({})['mask'].sum()) for _ in range(20)}
    assert counts == {math.ceil(196 * ratio)}


def test_masks_are_uniform_over_positions():
    np.random.seed(0)
    gen = SemanticMIMMaskGenerator(64, 16, 16, 0.5)
    freq = sum(
        gen.transform({})['mask'].numpy().astype(float)
        for _ in range(4000)) / 4000
    assert np.allclose(freq, 0.5, atol=0.04)


def test_mask_cells_larger_than_patches():
    gen = SemanticMIMMaskGenerator(64, 32, 16, 0.5)
    mask = gen.transform({})['mask'].numpy()
    assert mask.shape == (4, 4) and mask.sum() == 8
    # each 32-pixel cell covers a 2x2 block of patches
    assert (mask.reshape(2, 2, 2,
                         2).transpose(0, 2, 1,
                                      3).reshape(4, 4).std(axis=1) == 0).all()


def test_independent_prediction_set():
    np.random.seed(1)
    gen = SemanticMIMMaskGenerator(224, 16, 16, 0.6, pred_ratio=0.3)
    out = gen.transform({})
    assert int(out['pred_mask'].sum()) == math.ceil(196 * 0.3)
    assert not np.array_equal(out['mask'], out['pred_mask'])


@pytest.mark.parametrize('bad', [0, 1, -0.1, 1.5])
def test_mask_ratio_outside_unit_interval(bad):
    with pytest.raises(ValueError, match='mask_ratio must be in'):
        SemanticMIMMaskGenerator(224, 16, 16, bad)
    with pytest.raises(ValueError, match='pred_ratio must be in'):
        SemanticMIMMaskGenerator(224, 16, 16, 0.5, pred_ratio=bad)


def test_sizes_must_divide():
    with pytest.raises(ValueError, match='input_size'):
        SemanticMIMMaskGenerator(225, 16, 16, 0.5)
    with pytest.raises(ValueError, match='mask_patch_size'):
        SemanticMIMMaskGenerator(224, 16, 12, 0.5)


def test_corrupt_image_is_named(tmp_path):
    bad = tmp_path / 'broken.png'
    bad.write_bytes(b'\x89PNG\r\n\x1a\n this is not an image')
    with pytest.raises(OSError, match='broken.png'):
        StrictLoadImageFromFile().transform(dict(img_path=str(bad)))
    with pytest.raises(OSError, match='missing.jpg'):
        StrictLoadImageFromFile().transform(
            dict(img_path=str(tmp_path / 'missing.jpg')))


def test_corrupt_image_advice_fits_folders_and_lists(tmp_path):
    bad = tmp_path / 'broken.png'
    bad.write_bytes(b'not an image')
    with pytest.raises(OSError) as e:
        StrictLoadImageFromFile().transform(dict(img_path=str(bad)))
    assert 'delete it' in str(e.value) and 'skip_corrupt=True' in str(e.value)


def test_skip_corrupt_counts_warns_and_gives_up(tmp_path):
    from mmsemanticmim.datasets.transforms.loading import \
        TooManyCorruptImagesError
    bad = tmp_path / 'broken.png'
    bad.write_bytes(b'not an image')
    load = StrictLoadImageFromFile(skip_corrupt=True, max_skipped=2)
    assert load.transform(dict(img_path=str(bad))) is None
    assert load.transform(dict(img_path=str(tmp_path / 'gone.png'))) is None
    assert load.skipped == 2
    with pytest.raises(TooManyCorruptImagesError, match='max_skipped=2'):
        load.transform(dict(img_path=str(bad)))
    with pytest.raises(ValueError, match='max_skipped'):
        StrictLoadImageFromFile(skip_corrupt=True, max_skipped=0)


def test_skip_corrupt_in_a_training_data_set(tmp_path):
    """mmengine's training data set draws another sample for a skipped one;
    an evaluation data set refuses."""
    import cv2
    from mmpretrain.datasets import CustomDataset
    for name in ('a', 'b'):
        (tmp_path / 'c0').mkdir(exist_ok=True)
        cv2.imwrite(
            str(tmp_path / 'c0' / f'{name}.png'), np.zeros((8, 8, 3),
                                                           np.uint8))
    (tmp_path / 'c0' / '0_broken.png').write_bytes(b'not an image')
    pipeline = [
        dict(type='mmsemanticmim.StrictLoadImageFromFile', skip_corrupt=True)
    ]
    ds = CustomDataset(data_root=str(tmp_path), pipeline=pipeline)
    assert ds.get_data_info(0)['img_path'].endswith('0_broken.png')
    assert not ds[0]['img_path'].endswith('0_broken.png')
    test = CustomDataset(
        data_root=str(tmp_path), pipeline=pipeline, test_mode=True)
    with pytest.raises(Exception, match='should not get'):
        test[0]
