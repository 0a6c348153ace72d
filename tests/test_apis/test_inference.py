"""Building our configs through our APIs and the libraries' own, from any
folder, with and without weights; features of image files."""
import copy
import os
import os.path as osp

import numpy as np
import pytest
import torch

from mmsemanticmim.apis import (SemanticMIMFeatureExtractor, extract_features,
                                init_model, list_models)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BENCH = osp.join(REPO, 'configs', 'benchmarks')
SEG_TOY = osp.join(
    BENCH, 'segmentation', 'upernet_vit-tiny-p4_semanticmim-'
    'maskfeat-pre_1xb2-2k_toy-ade20k-64x64.py')
DET_TOY = osp.join(
    BENCH, 'detection', 'mask-rcnn_vit-tiny-p4_semanticmim-'
    'maskfeat-pre_simplefpn-1xb2-2e_toy-coco.py')
CLS_TOY = osp.join(
    BENCH, 'classification', 'vit-tiny-p4_semanticmim-'
    'maskfeat-pre_1xb8-coslr-2e_toy.py')
TINY = 'semanticmim-maskfeat_vit-tiny-p4_1xb64-coslr-10e_mnist-demo'


@pytest.fixture
def elsewhere(tmp_path):
    """Run from a folder that is not the checkout."""
    cwd = os.getcwd()
    os.chdir(tmp_path)
    yield tmp_path
    os.chdir(cwd)


def _image(folder, size=48):
    import cv2
    path = str(folder / 'img.png')
    rng = np.random.RandomState(0)
    cv2.imwrite(path, rng.randint(0, 256, (size, size, 3), dtype=np.uint8))
    return path


def test_list_models_names_every_config():
    names = list_models()
    assert TINY in names and len(names) == len(set(names))
    assert all('beit' in n for n in list_models('*beit*'))
    assert osp.splitext(osp.basename(SEG_TOY))[0] in names


@pytest.mark.parametrize('config,family', [(SEG_TOY, 'EncoderDecoder'),
                                           (DET_TOY, 'MaskRCNN'),
                                           (CLS_TOY, 'ImageClassifier')])
def test_toy_downstream_configs_build_with_and_without_weights(
        config, family, elsewhere):
    model = init_model(config)
    assert type(model).__name__ == family
    assert type(model.backbone).__name__ == 'SemanticMIMViT'
    path = str(elsewhere / 'weights.pth')
    state = {
        k: torch.randn_like(v)
        for k, v in model.state_dict().items() if v.is_floating_point()
    }
    state.update({
        k: v
        for k, v in model.state_dict().items() if not v.is_floating_point()
    })
    torch.save(dict(state_dict=state, meta=dict()), path)
    loaded = init_model(config, path)
    key = 'backbone.proxy_tokens'
    assert torch.equal(loaded.state_dict()[key], state[key])
    # a checkpoint that does not fit is an error, not a partial load
    del state[key]
    torch.save(dict(state_dict=state), path)
    with pytest.raises(RuntimeError, match='proxy_tokens'):
        init_model(config, path)


def _weights_of(model, path):
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return path


def test_mmseg_init_model_and_inferencer(elsewhere):
    from mmseg.apis import MMSegInferencer
    from mmseg.apis import init_model as mmseg_init_model
    model = mmseg_init_model(SEG_TOY, device='cpu')
    assert type(model.backbone).__name__ == 'SemanticMIMViT'
    path = _weights_of(model, str(elsewhere / 'seg.pth'))
    again = mmseg_init_model(SEG_TOY, path, device='cpu')
    assert torch.equal(again.backbone.proxy_tokens,
                       model.backbone.proxy_tokens)
    for weights in (None, path):
        inferencer = MMSegInferencer(
            model=SEG_TOY, weights=weights, device='cpu')
        result = inferencer(_image(elsewhere, 64), return_datasamples=True)
        assert result.pred_sem_seg.data.shape[-2:] == (64, 64)


def test_mmdet_inferencer(elsewhere):
    from mmdet.apis import DetInferencer
    model = init_model(DET_TOY)
    path = _weights_of(model, str(elsewhere / 'det.pth'))
    for weights in (None, path):
        inferencer = DetInferencer(
            model=DET_TOY, weights=weights, device='cpu')
        result = inferencer(_image(elsewhere, 64), return_datasamples=True)
        assert len(result['predictions']) == 1
    assert torch.equal(inferencer.model.backbone.proxy_tokens,
                       model.backbone.proxy_tokens)


def test_stock_mmseg_pretrained_key_loads_the_encoder(pretrain_checkpoint):
    """mmseg's stock bases set ``model.pretrained``; EncoderDecoder hands it
    to the backbone, which reads it as a Pretrained init_cfg."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS

    from mmsemanticmim.checkpoint.reading import read_checkpoint
    cfg = Config.fromfile(SEG_TOY)
    cfg.model.backbone.init_cfg = None
    cfg.model.pretrained = pretrain_checkpoint
    with DefaultScope.overwrite_default_scope('mmseg'):
        with pytest.warns(UserWarning, match='model.pretrained'):
            model = MODELS.build(copy.deepcopy(cfg.model))
    model.backbone.init_weights()
    saved = read_checkpoint(pretrain_checkpoint)['state_dict']
    assert torch.equal(model.backbone.proxy_tokens,
                       saved['backbone.proxy_tokens'])
    # both ways at once is ambiguous: refused, naming the fix
    cfg.model.backbone.init_cfg = dict(
        type='Pretrained', checkpoint=pretrain_checkpoint)
    with DefaultScope.overwrite_default_scope('mmseg'):
        with pytest.raises(ValueError, match='model.pretrained=None'):
            MODELS.build(copy.deepcopy(cfg.model))


def test_pretrained_without_checkpoint_names_the_fix():
    model = init_model(CLS_TOY)  # (mmseg's init_model drops init_cfg)
    with pytest.raises(
            ValueError, match='model.backbone.init_cfg.checkpoint=PATH'):
        model.backbone.init_weights()


def test_features_of_image_files(pretrain_checkpoint, tmp_path):
    image = _image(tmp_path)
    feats = extract_features(
        TINY, [image, image], checkpoint=pretrain_checkpoint)
    assert len(feats) == 2
    assert feats[0]['proxy'].shape == (4, 96)
    assert feats[0]['patch'].shape == (96, 8, 8)  # 32 px / patch 4
    assert torch.allclose(feats[0]['patch'], feats[1]['patch'])
    # the same numbers as the encoder on the preprocessed image
    model = init_model(TINY, pretrain_checkpoint)
    extractor = SemanticMIMFeatureExtractor(model)
    again = extractor(image)[0]
    assert torch.allclose(again['proxy'], feats[0]['proxy'])
    # mmpretrain's own extractor on that model, given a test pipeline (a
    # pre-training config has none): the same proxy tokens
    from mmpretrain.apis import FeatureExtractor
    model._config.test_dataloader = dict(
        dataset=dict(pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='mmpretrain.Resize', scale=(32, 32)),
            dict(type='mmpretrain.PackInputs')
        ]))
    tokens = FeatureExtractor(model)(image)[0][0]  # (Np + N, D)
    assert torch.allclose(tokens[:4], feats[0]['proxy'], atol=1e-5)
