"""The analysis tools run on a tiny checkpoint and write real outputs."""
import os.path as osp
import sys

import numpy as np
import pytest
import torch

from helpers import REPO

sys.path.insert(0, osp.join(REPO, 'tools', 'analysis'))


def test_visualize_attention_two_checkpoints(pretrain_checkpoint, tmp_path):
    import cv2
    from visualize_attention import visualize
    out = str(tmp_path / 'attn.png')
    visualize([pretrain_checkpoint, pretrain_checkpoint], out,
              sample='astronaut', img_size=32, layers=[0, 3],
              names=['a', 'b'], subtract_proxy_mean=True)
    img = cv2.imread(out)
    # 2 queries + 4 proxies rows; 2 x (image + 2 layers) columns, 1.6 in
    # at 100 dpi per cell
    assert img.shape[:2] == (6 * 160, 6 * 160)
    assert img.std() > 10  # not blank


def test_attention_maps_are_distributions(pretrain_checkpoint):
    from mmsemanticmim.models import SemanticMIMViT
    enc = SemanticMIMViT.from_checkpoint(pretrain_checkpoint, out_type='raw')
    maps = enc.attention_maps(torch.randn(1, 3, 32, 32))
    assert len(maps) == 4 and maps[0].shape == (1, 68, 68)
    assert torch.allclose(maps[2].sum(-1), torch.ones(1, 68), atol=1e-5)


def test_eval_frozen_features(pretrain_checkpoint, cls_folder, tmp_path):
    import cv2
    from eval_frozen_features import evaluate, frozen_encoder
    tsne = str(tmp_path / 'tsne.png')
    for random_init in (False, True):
        res = evaluate(frozen_encoder(pretrain_checkpoint, random_init),
                       cls_folder, 32, [127.] * 3, [64.] * 3,
                       train_split='train', test_split='val', tsne=tsne)
        assert set(res) == {'knn', 'linear'}
        assert all(0 <= v <= 100 for v in res.values())
    img = cv2.imread(tsne)
    assert img is not None and img.shape[:2] == (500, 500)


def test_random_init_differs_from_checkpoint(pretrain_checkpoint):
    from eval_frozen_features import frozen_encoder
    a = frozen_encoder(pretrain_checkpoint)
    b = frozen_encoder(pretrain_checkpoint, random_init=True)
    assert not torch.equal(a.layers[0].attn.qkv.weight,
                           b.layers[0].attn.qkv.weight)


def test_pixel_target_is_normalised_per_patch():
    from mmsemanticmim.models import PatchPixelTarget
    target = PatchPixelTarget(patch_size=4)
    out = target(torch.randn(2, 3, 32, 32) * 5 + 3)
    assert out.shape == (2, 64, 48)
    assert torch.allclose(out.mean(-1), torch.zeros(2, 64), atol=1e-4)
    with pytest.raises(ValueError, match='patch_size'):
        target(torch.randn(1, 3, 30, 30))
    raw = PatchPixelTarget(patch_size=4, norm_pix=False)
    x = torch.arange(3 * 8 * 8, dtype=torch.float).view(1, 3, 8, 8)
    assert np.allclose(raw(x)[0, 0, :3].numpy(), [0, 64, 128])
