"""Every config builds; the tiny ones train, lower their loss, and resume."""
import copy
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from helpers import REPO, TINY_CONFIGS, tiny_cfg

ALL_CONFIGS = sorted(
    p for p in glob.glob(
        osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p)
REFERENCE = [
    'semanticmim-beit_vit-base-p16_8xb256-amp-coslr-300e_in1k.py',
    'semanticmim-maskfeat_vit-base-p16_8xb256-amp-coslr-300e_in1k.py',
    'baseline-beit_vit-base-p16_8xb256-amp-coslr-300e_in1k.py',
    'baseline-maskfeat_vit-base-p16_8xb256-amp-coslr-300e_in1k.py',
]


def test_reference_configs_exist():
    names = {osp.basename(p) for p in ALL_CONFIGS}
    assert set(REFERENCE) <= names


def _drop_paths(layers):
    return [getattr(layer.drop_path, 'drop_prob', 0.) for layer in layers]


def _expected_backbone(name):
    """What each config promises of its encoder, from the spec's recipes
    (the paper's, arXiv 2406.10673) and the ViT-B transfer recipes of mmseg /
    ViTDet."""
    beit = 'beit' in name
    large = 'vit-large' in name or 'vit-huge' in name
    # BEiT's layer scale: 0.1 at ViT-B, 1e-5 from ViT-L on
    layer_scale = (1e-5 if large else 0.1) if beit else None
    if name.startswith(('semanticmim-', 'baseline-')):
        tiny = 'mnist-demo' in name
        depth = {
            'vit-large': 24,
            'vit-huge': 32
        }.get(name.split('_')[1].rsplit('-', 1)[0], 4 if tiny else 12)
        return dict(
            num_proxy_tokens=1 if beit else (4 if tiny else 8),
            layer_type='beit' if beit else 'vit',
            layer_scale=layer_scale,
            drop_path=0.1 if beit else 0.,
            img_size=(32, 32) if tiny else (224, 224),
            out_indices=[depth - 1],
            frozen_stages=-1,
            final_norm=True)
    common = dict(
        num_proxy_tokens=1 if beit else 8,
        layer_type='beit' if beit else 'vit',
        layer_scale=layer_scale,
        final_norm=False)
    if name.startswith('upernet_vit-large'):
        # mmseg's / unilm's BEiT-L ADE20K recipe
        return dict(
            common,
            drop_path=0.2,
            frozen_stages=-1,
            out_indices=[7, 11, 15, 23],
            img_size=(640, 640))
    if name.startswith('mask-rcnn_vit-large'):
        # ViTDet's ViT-L recipe
        return dict(
            common,
            drop_path=0.4,
            frozen_stages=-1,
            out_indices=[23],
            img_size=(1024, 1024))
    if name.startswith('vit-base') and 'linear' in name:
        return dict(
            common,
            drop_path=0.,
            frozen_stages=12,
            out_indices=[11],
            img_size=(224, 224))
    if name.startswith('vit-base'):
        return dict(
            common,
            drop_path=0.1,
            frozen_stages=-1,
            out_indices=[11],
            img_size=(224, 224))
    if name.startswith('upernet'):
        return dict(
            common,
            drop_path=0.1,
            frozen_stages=-1,
            out_indices=[3, 5, 7, 11],
            img_size=(640, 640))
    if name.startswith('fcn-linear'):
        return dict(
            common,
            drop_path=0.,
            frozen_stages=12,
            out_indices=[7],
            img_size=(448, 448))
    if name.startswith('mask-rcnn'):
        return dict(
            common,
            drop_path=0.1,
            frozen_stages=-1,
            out_indices=[11],
            img_size=(1024, 1024))
    raise KeyError(name)


def _build(cfg):
    import importlib

    from mmengine.registry import DefaultScope
    scope = cfg.get('default_scope', 'mmsemanticmim')
    registry = importlib.import_module({
        'mmseg': 'mmseg.registry',
        'mmdet': 'mmdet.registry'
    }.get(scope, 'mmsemanticmim.registry')).MODELS
    with DefaultScope.overwrite_default_scope(scope):
        return registry.build(cfg.model)


@pytest.mark.parametrize(
    'path', [p for p in ALL_CONFIGS if '_toy' not in p], ids=osp.basename)
def test_config_builds_what_it_promises(path):
    """Every config (toy downstream ones excepted: they read a checkpoint at
    build time and are trained end to end in test_transfer) builds, and the
    built encoder is the recipe's: proxies, layer type and scale, drop
    path per layer, image size, out_indices, frozen stages, final norm."""
    name = osp.basename(path)
    cfg = Config.fromfile(path)
    tg = cfg.model.get('target_generator') or {}
    # The DALL-E checkpoint is referenced by URL and cannot be fetched
    # here: build the tokenizer with random weights.
    tg.pop('init_cfg', None)
    model = _build(cfg)
    want = _expected_backbone(name)
    bb = model.backbone
    assert type(bb).__name__ in ('SemanticMIMViT', 'SemanticMIMPretrainViT')
    assert bb.num_proxy_tokens == want['num_proxy_tokens']
    assert bb.layer_type == want['layer_type']
    gamma = bb.layers[0].gamma_1
    assert (gamma is not None) == (want['layer_scale'] is not None)
    if gamma is not None:
        assert torch.all(gamma == torch.tensor(want['layer_scale']))
    dpr = _drop_paths(bb.layers)
    assert dpr[0] == 0. and dpr[-1] == pytest.approx(want['drop_path'])
    assert bb.img_size == want['img_size']
    assert bb.out_indices == want['out_indices']
    assert bb.frozen_stages == want['frozen_stages']
    assert isinstance(bb.ln1, torch.nn.LayerNorm) == want['final_norm']
    if want['frozen_stages'] >= bb.num_layers:
        bb.train()
        assert not any(p.requires_grad for p in bb.parameters())
    if name.startswith(('semanticmim-', 'baseline-')):
        assert model.bottleneck == name.startswith('semanticmim-')
        if model.bottleneck:
            neck = model.neck
            assert neck.num_layers == bb.num_layers
            assert neck.layer_type == bb.layer_type
            assert _drop_paths(neck.layers) == pytest.approx(dpr)
            gamma = neck.layers[0].gamma_1
            assert (gamma is not None) == (want['layer_scale'] is not None)
            if gamma is not None:
                assert torch.all(gamma == torch.tensor(want['layer_scale']))
        else:
            assert model.neck is None
        target = type(model.target_generator).__name__
        family = name.split('_')[0].split('-')[1]
        assert target == {
            'maskfeat': 'PatchHOGGenerator',
            'beit': 'FP32DALLEEncoder',
            'pixel': 'PatchPixelTarget'
        }[family]


@pytest.mark.parametrize('name', REFERENCE)
def test_reference_hyperparameters(name):
    cfg = Config.fromfile(osp.join(REPO, 'configs/semanticmim', name))
    beit = 'beit' in name
    bb = cfg.model.backbone
    assert (bb.arch, bb.patch_size, bb.img_size) == ('base', 16, 224)
    assert bb.num_proxy_tokens == (1 if beit else 8)
    assert bb.layer_type == ('beit' if beit else 'vit')
    assert cfg.optim_wrapper.type == 'DeviceAmpOptimWrapper'
    # fused where the device has it (DeviceAdamW decides at construction)
    assert cfg.optim_wrapper.optimizer.type == 'DeviceAdamW'
    assert 'fused' not in cfg.optim_wrapper.optimizer
    assert cfg.optim_wrapper.optimizer.lr == (1.5e-3 if beit else 1.6e-3)
    assert cfg.optim_wrapper.clip_grad.max_norm == (3.0 if beit else 0.02)
    assert cfg.train_cfg.max_epochs == 300
    assert cfg.train_dataloader.batch_size == 256
    assert cfg.auto_scale_lr.base_batch_size == 2048
    gen = [
        t for t in cfg.train_dataloader.dataset.pipeline
        if t.type == 'SemanticMIMMaskGenerator'
    ][0]
    expected = 0.4 if name.startswith('baseline') else (0.6 if beit else 0.8)
    assert gen.mask_ratio == expected
    warmup = cfg.param_scheduler[0]
    assert warmup.end == (10 if beit else 30)


GPU_STUDY = sorted(
    p for p in ALL_CONFIGS
    if p.endswith('_vit-small-p16_8xb128-amp-coslr-100e_in100.py'))


def test_gpu_study_preset_configs():
    """Four ViT-S/16 arms (DeiT-S widths in both stacks) that differ only
    in target and bottleneck: one data folder, one short schedule."""
    assert [osp.basename(p).split('_')[0] for p in GPU_STUDY] == [
        'baseline-maskfeat', 'baseline-pixel', 'semanticmim-maskfeat',
        'semanticmim-pixel'
    ]
    for path in GPU_STUDY:
        cfg = Config.fromfile(path)
        semantic = osp.basename(path).startswith('semanticmim')
        model = _build(cfg)
        bb = model.backbone
        assert (bb.embed_dims, bb.num_layers, bb.num_proxy_tokens) == \
            (384, 12, 8)
        assert bb.layers[0].attn.num_heads == 6
        assert model.bottleneck == semantic
        if semantic:
            assert (model.neck.num_layers,
                    model.neck.layers[0].attn.num_heads) == (12, 6)
        data = cfg.train_dataloader
        assert (data.dataset.type,
                data.dataset.data_prefix) == ('CustomDataset', 'train')
        assert data.batch_size == 128
        gen = [
            t for t in data.dataset.pipeline
            if t.type == 'SemanticMIMMaskGenerator'
        ][0]
        assert gen.mask_ratio == (0.8 if semantic else 0.4)
        assert cfg.optim_wrapper.optimizer.lr == pytest.approx(8e-4)
        assert cfg.auto_scale_lr.base_batch_size == 8 * 128
        assert cfg.train_cfg.max_epochs == 100
        warmup, cosine = cfg.param_scheduler
        assert (warmup.end, cosine.begin, cosine.end,
                cosine.T_max) == (10, 10, 100, 90)


def _fixed_batch_loss(runner, seed=0):
    """Loss of the model on the first batch, with fixed masks/augment."""
    model = runner.model
    torch.manual_seed(seed)
    import numpy as np
    np.random.seed(seed)
    data = next(iter(runner.build_dataloader(runner.cfg.train_dataloader)))
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(data, True)
        torch.manual_seed(seed)
        loss = model(**data, mode='loss')['loss'].item()
    model.train()
    return loss


class _Capture(Hook):
    """Records what the runner holds right after (re)loading."""
    priority = 'VERY_LOW'

    def before_train(self, runner):
        self.iter = runner.iter
        self.epoch = runner.epoch
        self.state = {
            k: v.clone()
            for k, v in runner.model.state_dict().items()
        }
        self.optim = copy.deepcopy(runner.optim_wrapper.state_dict())
        self.scheduler = copy.deepcopy(
            [s.state_dict() for s in runner.param_schedulers])
        self.lr = runner.optim_wrapper.get_lr()['lr'][0]
        self.loss_history = runner.message_hub.get_scalar(
            'train/loss').data[0].copy()


TINY_PRETRAIN = sorted(p for p in ALL_CONFIGS if p.endswith('mnist-demo.py'))


@pytest.mark.parametrize('path', TINY_PRETRAIN, ids=osp.basename)
def test_tiny_config_lowers_loss(path, image_folder, tmp_path):
    cfg = tiny_cfg(
        path,
        image_folder,
        str(tmp_path),
        max_epochs=6,
        batch_size=8,
        constant_lr=True)
    cfg.experiment_name = 'lower_' + osp.basename(path)
    runner = Runner.from_cfg(cfg)
    before = None

    class First(Hook):

        def before_train(self, r):
            nonlocal before
            before = _fixed_batch_loss(r)

    runner.register_hook(First())
    runner.train()
    after = _fixed_batch_loss(runner)
    assert after < before, (before, after)


@pytest.mark.parametrize('target', ['maskfeat'])
def test_resume_restores_weights_optimizer_and_schedule(
        target, image_folder, tmp_path):
    # 16 images, batch 8: 2 iterations an epoch; stop after epoch 1.
    cfg = tiny_cfg(
        TINY_CONFIGS[target], image_folder, str(tmp_path), max_epochs=1)
    cfg.param_scheduler = [
        dict(
            type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=3),
        dict(
            type='CosineAnnealingLR',
            eta_min=1e-5,
            by_epoch=False,
            begin=3,
            end=8)
    ]
    cfg.experiment_name = 'first'
    Runner.from_cfg(cfg).train()
    ckpt_path = osp.join(str(tmp_path), 'epoch_1.pth')
    ckpt = torch.load(ckpt_path)  # weights_only: no code can run

    cfg2 = tiny_cfg(
        TINY_CONFIGS[target], image_folder, str(tmp_path), max_epochs=2)
    cfg2.param_scheduler = cfg.param_scheduler
    cfg2.resume = True
    cfg2.load_from = ckpt_path
    cfg2.experiment_name = 'resumed'
    runner = Runner.from_cfg(cfg2)
    capture = _Capture()
    runner.register_hook(capture)
    runner.train()

    assert (capture.epoch, capture.iter) == (1, 2)
    for k, v in ckpt['state_dict'].items():
        assert torch.equal(capture.state[k], v), k
    saved = ckpt['optimizer']['state']
    assert saved and set(saved) == set(capture.optim['state'])
    for pid, st in saved.items():
        for key, value in st.items():
            assert torch.equal(
                torch.as_tensor(capture.optim['state'][pid][key]),
                torch.as_tensor(value)), (pid, key)
    assert capture.scheduler == ckpt['param_schedulers']
    assert capture.lr == ckpt['optimizer']['param_groups'][0]['lr']
    # The message hub's history came back as HistoryBuffer data.
    assert len(capture.loss_history) == 2
    assert runner.iter == 4


LARGE_PRETRAIN = sorted(
    p for p in ALL_CONFIGS if osp.basename(p).startswith('semanticmim-') and (
        'vit-large' in p or 'vit-huge' in p))


@pytest.mark.parametrize('path', LARGE_PRETRAIN, ids=osp.basename)
def test_large_pretrain_config_trains_a_step(path, tmp_path):
    """Every ViT-L/H pre-training config, cut to 2 layers per stack at its
    real width, runs its own data pipeline on an image, computes a finite
    loss and sends gradients to the encoder: patch size, masking grid,
    target grid (HOG cells, the DALL-E view) and head width agree."""
    import numpy as np
    from mmcv import imwrite
    from mmengine.dataset import Compose, default_collate
    from mmengine.registry import DefaultScope
    from mmpretrain.models.backbones import VisionTransformer

    cfg = Config.fromfile(path)
    cfg.model.target_generator.pop('init_cfg', None)
    arch = cfg.model.backbone.arch
    cut = dict(VisionTransformer.arch_zoo[arch], num_layers=2)
    cfg.model.backbone.arch = cut
    cfg.model.neck.arch = cut
    huge = arch == 'huge'
    assert cfg.model.get('with_cp', False) == huge  # on by default for H
    if huge:  # sharded by default for H, with the switch's settings
        from mmsemanticmim.engine.runners.build import FSDP_RUNTIME
        assert cfg.runner_type == FSDP_RUNTIME['runner_type']
        assert cfg.strategy.to_dict() == FSDP_RUNTIME['strategy']
        assert cfg.optim_wrapper.use_fsdp is True
    img = str(tmp_path / 'img.png')
    imwrite(
        np.random.RandomState(0).randint(0, 255, (256, 300, 3), np.uint8), img)
    with DefaultScope.overwrite_default_scope('mmsemanticmim'):
        model = _build(cfg)
        pipeline = Compose(cfg.train_dataloader.dataset.pipeline)
        data = default_collate([pipeline(dict(img_path=img))] * 2)
    data = model.data_preprocessor(data, True)
    loss = model(**data, mode='loss')['loss']
    assert torch.isfinite(loss)
    loss.backward()
    assert model.backbone.patch_embed.projection.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('path', ALL_CONFIGS, ids=osp.basename)
def test_no_key_that_nothing_reads(path):
    from mmsemanticmim.engine.runners.config_check import check_config_keys
    check_config_keys(Config.fromfile(path))
