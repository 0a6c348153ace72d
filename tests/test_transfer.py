"""The pre-trained encoder in mmpretrain, mmseg and mmdet: checkpoint
handling, layer decay, and tools/train.py + tools/test.py end to end."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope

from mmsemanticmim.models import SemanticMIMViT
from helpers import REPO

TINY = dict(embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=384)
BENCH = osp.join(REPO, 'configs', 'benchmarks')
ENV = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')


def backbone(checkpoint, **kwargs):
    cfg = dict(
        arch=TINY,
        img_size=32,
        patch_size=4,
        out_type='featmap',
        init_cfg=dict(
            type='Pretrained', checkpoint=checkpoint, prefix='backbone.'))
    cfg.update(kwargs)
    return SemanticMIMViT(**cfg)


@pytest.fixture(scope='module')
def eight_proxy_checkpoint(tmp_path_factory):
    """A pre-training checkpoint with 8 proxies, saved as the tools save."""
    from mmsemanticmim.checkpoint import META_KEY
    from mmsemanticmim.registry import MODELS
    model = MODELS.build(
        dict(
            type='SemanticMIM',
            backbone=dict(
                type='SemanticMIMPretrainViT',
                arch=TINY,
                img_size=32,
                patch_size=4,
                num_proxy_tokens=8),
            neck=dict(type='ProxyReconstructionNeck', arch=TINY),
            head=dict(
                type='MaskedRegressionHead',
                predictor=dict(
                    type='LinearNeck',
                    in_channels=96,
                    out_channels=27,
                    norm_cfg=None),
                loss=dict(type='PixelReconstructionLoss', criterion='L2'))))
    model.init_weights()
    path = str(tmp_path_factory.mktemp('ckpt') / 'eight.pth')
    torch.save(
        dict(
            meta={META_KEY: model.backbone.checkpoint_meta().to_dict()},
            state_dict=model.state_dict()), path)
    return path, model


def test_checkpoint_meta_is_written(pretrain_checkpoint):
    ckpt = torch.load(pretrain_checkpoint)
    meta = ckpt['meta']['semanticmim_backbone']
    assert meta['num_proxy_tokens'] == 4 and meta['layer_type'] == 'vit'


def test_eight_proxies_load_into_eight(eight_proxy_checkpoint):
    path, model = eight_proxy_checkpoint
    bb = backbone(path, num_proxy_tokens=8)
    bb.init_weights()
    assert torch.equal(bb.proxy_tokens, model.backbone.proxy_tokens)
    assert torch.equal(bb.layers[3].attn.qkv.weight,
                       model.backbone.layers[3].attn.qkv.weight)
    # None reads the count from the checkpoint
    auto = backbone(
        path,
        num_proxy_tokens=None,
        layer_type=None,
        layer_scale_init_value=None)
    assert auto.num_proxy_tokens == 8 and auto.layer_type == 'vit'


def test_evaluation_reads_the_meta_without_the_weights(eight_proxy_checkpoint,
                                                       monkeypatch):
    """test.py fills ``None`` encoder settings from the checkpoint under
    test, then the runner loads it: the first read maps the tensors (where
    torch can), so the weights are read once."""
    import inspect

    from mmengine.config import Config

    from mmsemanticmim.engine import backbone_from_checkpoint
    path, _ = eight_proxy_checkpoint
    calls = []
    stock = torch.load

    def load(*args, **kwargs):
        calls.append(kwargs)
        return stock(*args, **kwargs)

    monkeypatch.setattr(torch, 'load', load)
    cfg = Config(
        dict(
            model=dict(
                backbone=dict(
                    type='SemanticMIMViT',
                    num_proxy_tokens=None,
                    layer_type=None,
                    layer_scale_init_value=None,
                    init_cfg=dict(type='Pretrained')))))
    assert backbone_from_checkpoint(cfg, path)
    assert cfg.model.backbone.num_proxy_tokens == 8
    assert cfg.model.backbone.init_cfg is None
    assert len(calls) == 1 and calls[0]['weights_only'] is True
    mapped = 'mmap' in inspect.signature(torch.serialization.load).parameters
    assert calls[0].get('mmap', False) is mapped
    # a PathLike maps too (torch 2.1 maps str paths only)
    import pathlib

    from mmsemanticmim.checkpoint import read_checkpoint
    state = read_checkpoint(pathlib.Path(path), mmap=True)['state_dict']
    assert state['backbone.proxy_tokens'].shape[1] == 8


def test_eight_proxies_into_one_fails_with_the_fix(eight_proxy_checkpoint):
    path, _ = eight_proxy_checkpoint
    bb = backbone(path, num_proxy_tokens=1)
    with pytest.raises(ValueError) as e:
        bb.init_weights()
    msg = str(e.value)
    assert 'num_proxy_tokens=8' in msg
    assert 'model.backbone.num_proxy_tokens' in msg and path in msg


def test_flavour_mismatch_fails(eight_proxy_checkpoint):
    path, _ = eight_proxy_checkpoint
    bb = backbone(
        path,
        num_proxy_tokens=8,
        layer_type='beit',
        layer_scale_init_value=0.1)
    with pytest.raises(ValueError, match='model.backbone.layer_type'):
        bb.init_weights()


def test_missing_key_is_an_error(eight_proxy_checkpoint, tmp_path):
    path, _ = eight_proxy_checkpoint
    ckpt = torch.load(path)
    del ckpt['state_dict']['backbone.layers.2.ffn.layers.1.weight']
    broken = str(tmp_path / 'broken.pth')
    torch.save(ckpt, broken)
    with pytest.raises(ValueError, match='layers.2.ffn.layers.1.weight'):
        backbone(broken, num_proxy_tokens=8).init_weights()


def test_wrong_prefix_is_an_error(eight_proxy_checkpoint):
    path, _ = eight_proxy_checkpoint
    bb = backbone(path, num_proxy_tokens=8)
    bb.init_cfg['prefix'] = 'encoder.'
    with pytest.raises(ValueError, match="prefix='backbone.'"):
        bb.init_weights()


def test_pos_embed_is_resized(eight_proxy_checkpoint):
    path, model = eight_proxy_checkpoint
    bb = backbone(path, num_proxy_tokens=8, img_size=64)
    bb.init_weights()
    assert bb.pos_embed.shape == (1, 8 + 256, 96)
    # proxy slots are kept as they are; the patch slots are the 8x8 grid
    # resized bicubically to 16x16 (mmpretrain's resize_pos_embed)
    assert torch.equal(bb.pos_embed[:, :8], model.backbone.pos_embed[:, :8])
    from mmpretrain.models.utils import resize_pos_embed
    want = resize_pos_embed(model.backbone.pos_embed.detach(), (8, 8),
                            (16, 16), 'bicubic', 8)
    assert torch.equal(bb.pos_embed.detach(), want)
    assert not torch.allclose(
        want,
        resize_pos_embed(model.backbone.pos_embed.detach(), (8, 8),
                         (16, 16), 'bilinear', 8))
    out = bb(torch.randn(1, 3, 64, 64))[-1]
    assert out.shape == (1, 96, 16, 16)


def test_downstream_outputs_leave_proxies_out():
    bb = SemanticMIMViT(
        arch=TINY,
        img_size=32,
        patch_size=4,
        num_proxy_tokens=4,
        out_type='raw',
        out_indices=(1, 3))
    bb.init_weights()
    x = torch.randn(2, 3, 32, 32)
    raw = bb(x)
    assert [r.shape for r in raw] == [(2, 68, 96)] * 2
    bb.out_type = 'featmap'
    fmap = bb(x)[-1]
    assert torch.equal(fmap.flatten(2).transpose(1, 2), raw[-1][:, 4:])
    bb.out_type = 'avg_featmap'
    bb.ln2 = torch.nn.Identity()
    assert torch.allclose(bb(x)[-1], raw[-1][:, 4:].mean(1))


def test_frozen_stages():
    bb = SemanticMIMViT(
        arch=TINY,
        img_size=32,
        patch_size=4,
        num_proxy_tokens=2,
        frozen_stages=2,
        out_type='featmap')
    bb.init_weights()
    bb.train()
    assert not bb.layers[1].training and bb.layers[2].training
    assert not any(p.requires_grad for p in bb.layers[1].parameters())
    assert all(p.requires_grad for p in bb.layers[2].parameters())
    # the stem goes with the first stage
    for p in (bb.pos_embed, bb.proxy_tokens, *bb.patch_embed.parameters()):
        assert not p.requires_grad
    assert all(p.requires_grad for p in bb.ln1.parameters())
    out = bb(torch.randn(1, 3, 32, 32))[-1]
    out.sum().backward()
    assert bb.layers[1].attn.qkv.weight.grad is None
    assert bb.layers[3].attn.qkv.weight.grad is not None


def test_full_freezing_for_linear_probes():
    """frozen_stages >= num_layers (the linear-probe configs): nothing of
    the encoder trains, dropout / drop path are in eval mode."""
    bb = SemanticMIMViT(
        arch=TINY,
        img_size=32,
        patch_size=4,
        num_proxy_tokens=2,
        frozen_stages=4,
        drop_path_rate=0.5,
        out_type='avg_featmap')
    bb.init_weights()
    bb.train()
    assert not any(p.requires_grad for p in bb.parameters())
    assert not any(m.training for m in bb.modules()
                   if m is not bb and not isinstance(m, torch.nn.ModuleList))
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(bb(x)[-1], bb(x)[-1])  # no stochastic depth


def test_layer_decay_constructor_on_mmseg_model():
    from mmengine.optim import build_optim_wrapper
    from mmseg.registry import MODELS
    cfg = ConfigDict(
        type='EncoderDecoder',
        backbone=dict(
            type='mmsemanticmim.SemanticMIMViT',
            arch=TINY,
            img_size=32,
            patch_size=4,
            num_proxy_tokens=2,
            out_type='featmap',
            out_indices=(3, )),
        decode_head=dict(
            type='FCNHead',
            in_channels=96,
            channels=96,
            num_convs=0,
            concat_input=False,
            num_classes=3,
            in_index=0),
        train_cfg=dict(),
        test_cfg=dict(mode='whole'))
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg)
        wrapper = build_optim_wrapper(
            model,
            ConfigDict(
                optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.05),
                constructor='mmsemanticmim.LayerDecayOptimWrapperConstructor',
                paramwise_cfg=dict(layer_decay_rate=0.5)))
    lr = {g['param_name']: g['lr'] for g in wrapper.optimizer.param_groups}
    # 4 layers + stem + rest = 6 depths: rate^(5 - depth)
    assert lr['backbone.pos_embed'] == 0.5**5
    assert lr['backbone.patch_embed.projection.weight'] == 0.5**5
    assert lr['backbone.layers.0.attn.qkv.weight'] == 0.5**4
    assert lr['backbone.layers.3.ffn.layers.1.weight'] == 0.5**1
    assert lr['decode_head.conv_seg.weight'] == 1.0


def test_layer_decay_needs_layer_depths():
    from mmengine.optim import build_optim_wrapper
    model = torch.nn.Sequential(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match='get_layer_depth'):
        build_optim_wrapper(
            model,
            ConfigDict(
                optimizer=dict(type='AdamW', lr=1.0),
                constructor='mmsemanticmim.LayerDecayOptimWrapperConstructor',
                paramwise_cfg=dict(layer_decay_rate=0.5)))


def test_extract_backbone(pretrain_checkpoint, tmp_path):
    from mmsemanticmim.checkpoint import extract_encoder as extract
    out = str(tmp_path / 'backbone.pth')
    meta = extract(pretrain_checkpoint, out)
    assert meta.num_proxy_tokens == 4
    ckpt = torch.load(out)
    assert 'mask_token' not in ckpt['state_dict']
    assert not any(
        k.startswith(('backbone.', 'neck.')) for k in ckpt['state_dict'])
    bb = SemanticMIMViT(
        arch=TINY,
        img_size=32,
        patch_size=4,
        num_proxy_tokens=None,
        layer_type=None,
        layer_scale_init_value=None,
        out_type='featmap',
        init_cfg=dict(type='Pretrained', checkpoint=out))
    bb.init_weights()
    with pytest.raises(ValueError, match='not a SemanticMIM pre-training'):
        extract(out, str(tmp_path / 'again.pth'))


def _tool(script, *args):
    proc = subprocess.run([sys.executable, f'tools/{script}', *args],
                          cwd=REPO,
                          env=ENV,
                          capture_output=True,
                          text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc.stdout + proc.stderr


def _train_and_test(config,
                    data_root,
                    ckpt,
                    work,
                    train_opts,
                    metric,
                    launcher=False):
    opts = [f'model.backbone.init_cfg.checkpoint={ckpt}'] + train_opts
    if launcher:  # the one-command benchmark launcher, single process
        proc = subprocess.run([
            'bash', 'tools/benchmarks/dist_train_downstream.sh', config, ckpt,
            '0', '--work-dir', work, '--cfg-options', *train_opts
        ],
                              cwd=REPO,
                              env=dict(ENV, PYTHON=sys.executable),
                              capture_output=True,
                              text=True,
                              timeout=900)
        assert proc.returncode == 0, proc.stderr[-4000:]
    else:
        _tool('train.py', config, '--work-dir', work, '--cfg-options', *opts)
    with open(osp.join(work, 'last_checkpoint')) as f:
        last = f.read().strip()
    out = _tool('test.py', config, last, '--work-dir', work, '--out',
                osp.join(work, 'predictions.pkl'), '--cfg-options', *opts)
    import pickle
    with open(osp.join(work, 'predictions.pkl'), 'rb') as f:
        predictions = pickle.load(f)  # our own file, just written
    assert isinstance(predictions, list) and predictions
    assert metric in out, out[-2000:]
    return out


def test_classification_end_to_end(cls_folder, pretrain_checkpoint, tmp_path):
    config = osp.join(
        BENCH, 'classification',
        'vit-tiny-p4_semanticmim-maskfeat-pre_1xb8-coslr-2e_'
        'toy.py')
    ds = [
        f'{k}.dataset.data_root={cls_folder}'
        for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ]
    # 16 images, batch 8, 1 epoch: 2 iterations.
    _train_and_test(
        config,
        cls_folder,
        pretrain_checkpoint,
        str(tmp_path),
        ds + ['train_cfg.max_epochs=1'],
        "'accuracy/top1'",
        launcher=True)


def test_segmentation_end_to_end(ade_folder, pretrain_checkpoint, tmp_path):
    config = osp.join(
        BENCH, 'segmentation',
        'upernet_vit-tiny-p4_semanticmim-maskfeat-pre_1xb2-2k_'
        'toy-ade20k-64x64.py')
    ds = [
        f'{k}.dataset.data_root={ade_folder}'
        for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ]
    _train_and_test(
        config, ade_folder, pretrain_checkpoint, str(tmp_path), ds + [
            'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
            'default_hooks.checkpoint.interval=2'
        ], "'mIoU'")


def test_detection_end_to_end(coco_folder, pretrain_checkpoint, tmp_path):
    config = osp.join(
        BENCH, 'detection', 'mask-rcnn_vit-tiny-p4_semanticmim-maskfeat-pre_'
        'simplefpn-1xb2-2e_toy-coco.py')
    root = coco_folder + '/'
    ds = [
        f'{k}.dataset.data_root={root}'
        for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ]
    ann = root + 'annotations/val.json'
    # 4 images, batch 2, 1 epoch: 2 iterations.
    out = _train_and_test(
        config, root, pretrain_checkpoint, str(tmp_path), ds + [
            f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}',
            'train_cfg.max_epochs=1', 'train_cfg.val_interval=1'
        ], "'coco/bbox_mAP'")
    assert "'coco/segm_mAP'" in out
