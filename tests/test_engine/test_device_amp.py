"""Mixed precision: the device-chosen format, fp32 targets under autocast,
and a bf16 CPU training run through the Runner."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmsemanticmim.engine import DeviceAmpOptimWrapper, default_amp_dtype
from mmsemanticmim.registry import MODELS
from mmsemanticmim.utils.torch_features import autocast_enabled
from helpers import REPO, tiny_cfg

TINY = {
    target:
    osp.join(
        REPO, 'configs/semanticmim/semanticmim-'
        f'{target}_vit-tiny-p4_1xb64-coslr-10e_mnist-demo.py')
    for target in ('maskfeat', 'beit', 'pixel')
}


def test_format_follows_the_device(monkeypatch):
    assert default_amp_dtype('cpu') is None
    assert default_amp_dtype('cpu', cpu_autocast=True) is torch.bfloat16
    monkeypatch.setattr(
        torch.cuda, 'is_bf16_supported', lambda including_emulation=True: True)
    assert default_amp_dtype('cuda') is torch.bfloat16
    monkeypatch.setattr(
        torch.cuda,
        'is_bf16_supported',
        lambda including_emulation=True: False)
    assert default_amp_dtype('cuda') is torch.float16

    opt = torch.optim.AdamW([torch.nn.Parameter(torch.ones(2))])
    wrapper = DeviceAmpOptimWrapper(optimizer=opt)
    if not torch.cuda.is_available():
        assert wrapper.cast_dtype is None  # fp32 on the CPU by default
        assert not wrapper.loss_scaler.is_enabled()
        bf16 = DeviceAmpOptimWrapper(optimizer=opt, cpu_autocast=True)
        assert bf16.cast_dtype is torch.bfloat16
        assert not bf16.loss_scaler.is_enabled()  # bf16 needs no scaling
        with pytest.raises(ValueError, match='float16 on the CPU'):
            DeviceAmpOptimWrapper(optimizer=opt, dtype='float16')
    with pytest.raises(ValueError, match="dtype='half'"):
        DeviceAmpOptimWrapper(optimizer=opt, dtype='half')
    with pytest.raises(TypeError, match='loss_scale'):
        DeviceAmpOptimWrapper(optimizer=opt, loss_scale='static')
    # a checkpoint without loss scaling (empty scaler state) loads
    state = wrapper.state_dict()
    assert state['loss_scaler'] == {}
    DeviceAmpOptimWrapper(optimizer=opt).load_state_dict(state)


def _tiny_model(target):
    cfg = Config.fromfile(TINY[target])
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def _batch(model, target, batch=4):
    from mmpretrain.structures import DataSample

    from mmsemanticmim.datasets.transforms import SemanticMIMMaskGenerator
    g = torch.Generator().manual_seed(0)
    gen = SemanticMIMMaskGenerator(
        input_size=32, mask_patch_size=4, model_patch_size=4, mask_ratio=0.6)
    samples = []
    for _ in range(batch):
        ds = DataSample()
        ds.set_field(torch.as_tensor(gen.transform({})['mask']), 'mask')
        samples.append(ds)
    img = torch.randn(batch, 3, 32, 32, generator=g)
    if target == 'beit':  # [images, tokenizer view]
        return [img, torch.rand(batch, 3, 64, 64, generator=g)], samples
    return img, samples


@pytest.mark.parametrize('target', ['maskfeat', 'beit', 'pixel'])
def test_bf16_autocast_loss_is_close_to_fp32_with_fp32_targets(target):
    """Under CPU bf16 autocast (where mmpretrain's own HOG fails) every
    target is computed in fp32, equal to the fp32 run's, and the loss is
    finite and close to the fp32 loss; a wrapper step trains."""
    model = _tiny_model(target).train()
    inputs, samples = _batch(model, target)
    view = inputs[-1] if isinstance(inputs, list) else inputs
    targets = {}
    original = model.target_generator.forward

    def record(x, *args, **kwargs):
        out = original(x, *args, **kwargs)
        targets[autocast_enabled('cpu')] = out
        return out

    model.target_generator.forward = record
    torch.manual_seed(1)
    fp32 = model.loss(inputs, samples)['loss']
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    wrapper = DeviceAmpOptimWrapper(optimizer=opt, cpu_autocast=True)
    before = model.backbone.patch_embed.projection.weight.detach().clone()
    with wrapper.optim_context(model):
        assert autocast_enabled('cpu')
        torch.manual_seed(1)
        bf16 = model.loss(inputs, samples)['loss']
    # the generator ran with autocast off, on fp32 input, in both runs
    assert set(targets) == {False}
    model.target_generator.forward = original
    with torch.no_grad():
        fp32_target = original(view.float())
        with torch.autocast('cpu', dtype=torch.bfloat16):
            inner = model.target_generator(view)
    assert inner.dtype == fp32_target.dtype
    torch.testing.assert_close(inner, fp32_target, rtol=0, atol=0)
    assert torch.isfinite(bf16)
    assert abs(bf16.item() - fp32.item()) <= 0.05 * abs(fp32.item()) + 1e-3
    wrapper.update_params(bf16)
    after = model.backbone.patch_embed.projection.weight
    assert torch.isfinite(after).all() and not torch.equal(before, after)


def test_train_amp_on_cpu_runs_bf16(tmp_path, image_folder):
    """tools/train.py --amp on the CPU: the Runner trains in bf16 autocast
    (finite losses, a checkpoint that resumes with the wrapper state)."""
    cfg = tiny_cfg(
        TINY['maskfeat'],
        image_folder,
        str(tmp_path),
        max_epochs=1,
        batch_size=8)
    cfg.optim_wrapper.type = 'mmsemanticmim.DeviceAmpOptimWrapper'
    cfg.optim_wrapper.cpu_autocast = True
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.optim_wrapper.cast_dtype is torch.bfloat16
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) > 1 and all(map(lambda v: v == v, losses))
    state = torch.load(
        osp.join(str(tmp_path), 'epoch_1.pth'), map_location='cpu')
    assert 'loss_scaler' in state['optimizer']
