"""The encoder outside OpenMMLab: exact timm conversion both ways, ONNX."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from mmsemanticmim.checkpoint import META_KEY
from mmsemanticmim.models import SemanticMIMViT
from helpers import REPO

timm = pytest.importorskip('timm')
from mmsemanticmim.checkpoint import onnx_export  # noqa: E402
from mmsemanticmim.checkpoint.timm_files import (  # noqa: E402
    convert_timm_checkpoint, write_timm_checkpoint)

TINY = dict(embed_dims=96, num_layers=3, num_heads=3, feedforward_channels=384)


def _encoder(layer_type, num_proxy_tokens, **kwargs):
    """A randomly initialised encoder whose norms, biases and layer scales
    are not at their init values (so a dropped or swapped one shows)."""
    torch.manual_seed(num_proxy_tokens + (layer_type == 'beit'))
    cfg = dict(
        arch=TINY,
        img_size=32,
        patch_size=4,
        num_proxy_tokens=num_proxy_tokens,
        layer_type=layer_type,
        layer_scale_init_value=0.1 if layer_type == 'beit' else 0.,
        out_type='raw')
    cfg.update(kwargs)
    enc = SemanticMIMViT(**cfg)
    enc.init_weights()
    with torch.no_grad():
        for name, p in enc.named_parameters():
            if 'ln' in name or 'bias' in name or 'gamma' in name:
                p.add_(torch.randn_like(p) * 0.1)
    return enc.eval()


def _save(enc, path, prefix='', extra=None):
    state = {prefix + k: v for k, v in enc.state_dict().items()}
    state.update(extra or {})
    torch.save(
        dict(
            meta={META_KEY: enc.checkpoint_meta().to_dict()},
            state_dict=state), path)
    return path


def _timm(cfg, weights, **overrides):
    args = dict(cfg['model_args'], **overrides)
    return timm.create_model(
        cfg['model_name'],
        pretrained=True,
        pretrained_cfg_overlay=dict(cfg['pretrained_cfg'], file=weights),
        **args).eval()


@pytest.mark.parametrize('layer_type', ['vit', 'beit'])
@pytest.mark.parametrize('num_proxy_tokens', [1, 8])
def test_timm_equals_ours_and_round_trip_is_exact(layer_type, num_proxy_tokens,
                                                  tmp_path, monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    enc = _encoder(layer_type, num_proxy_tokens)
    src = _save(enc, str(tmp_path / 'enc.pth'))
    dst = str(tmp_path / 'vit.safetensors')
    cfg = write_timm_checkpoint(src, dst)
    with open(osp.join(tmp_path, 'vit.json')) as f:
        assert json.load(f) == cfg
    assert cfg['model_args']['reg_tokens'] == num_proxy_tokens
    model = _timm(cfg, dst)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ours = enc(x)[-1]
        feats = model.forward_features(x)
        pooled = model.forward_head(feats, pre_logits=True)
    torch.testing.assert_close(feats, ours, rtol=0, atol=1e-5)
    torch.testing.assert_close(
        pooled, ours[:, num_proxy_tokens:].mean(1), rtol=0, atol=1e-5)

    # another input size: the converter resizes as our encoder does at run
    # time, so timm built at that size agrees with ours fed that size
    dst48 = str(tmp_path / 'vit48.safetensors')
    cfg48 = write_timm_checkpoint(src, dst48, img_size=[48, 40])
    x48 = torch.randn(2, 3, 48, 40)
    with torch.no_grad():
        torch.testing.assert_close(
            _timm(cfg48, dst48).forward_features(x48),
            enc(x48)[-1],
            rtol=0,
            atol=1e-5)

    # and back: bit-identical weights, same meta
    back = str(tmp_path / 'back.pth')
    meta = convert_timm_checkpoint(dst, back)
    ckpt = torch.load(back)
    assert meta == {
        **enc.checkpoint_meta().to_dict(), 'layer_type': layer_type
    }
    assert ckpt['meta'][META_KEY] == meta
    orig = enc.state_dict()
    assert set(ckpt['state_dict']) == set(orig)
    for k, v in orig.items():
        assert torch.equal(ckpt['state_dict'][k], v), k
    rebuilt = SemanticMIMViT.from_checkpoint(back, out_type='raw').eval()
    with torch.no_grad():
        assert torch.equal(rebuilt(x)[-1], ours)


def test_pretraining_checkpoint_converts(pretrain_checkpoint, tmp_path,
                                         monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    dst = str(tmp_path / 'vit.safetensors')
    out = subprocess.run([
        sys.executable, 'tools/model_converters/semanticmim_to_timm.py',
        pretrain_checkpoint, dst
    ],
                         cwd=REPO,
                         capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    with open(str(tmp_path / 'vit.json')) as f:
        cfg = json.load(f)
    enc = SemanticMIMViT.from_checkpoint(
        pretrain_checkpoint, out_type='raw').eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(
            _timm(cfg, dst).forward_features(x), enc(x)[-1], rtol=0, atol=1e-5)


def test_finetuned_pooling_norm_and_classifier(tmp_path, monkeypatch):
    """final_norm=False + ln2 (mmpretrain's fine-tuning layout) and its
    classifier become timm's fc_norm and head: logits agree."""
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    enc = _encoder('vit', 4, final_norm=False, out_type='avg_featmap')
    head = torch.nn.Linear(96, 5)
    src = _save(
        enc, str(tmp_path / 'ft.pth'), 'backbone.', {
            'head.layers.head.weight': head.weight.data,
            'head.layers.head.bias': head.bias.data
        })
    dst = str(tmp_path / 'ft.safetensors')
    cfg = write_timm_checkpoint(src, dst)
    assert cfg['model_args']['fc_norm'] and \
        cfg['model_args']['num_classes'] == 5
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(
            _timm(cfg, dst)(x), head(enc(x)[-1]), rtol=0, atol=1e-5)


def test_both_final_norms_need_a_choice(tmp_path):
    enc = _encoder('vit', 2, out_type='avg_featmap')  # ln1 and ln2
    src = _save(enc, str(tmp_path / 'both.pth'))
    with pytest.raises(ValueError, match='--drop-pooling-norm'):
        write_timm_checkpoint(src, str(tmp_path / 'x.safetensors'))
    cfg = write_timm_checkpoint(
        src, str(tmp_path / 'x.safetensors'), drop_pooling_norm=True)
    assert not cfg['model_args']['fc_norm']


def test_foreign_and_broken_files_are_refused(tmp_path):
    from mmpretrain.models import VisionTransformer
    vit = str(tmp_path / 'mmpretrain_vit.pth')
    torch.save(
        dict(
            state_dict=VisionTransformer(
                arch='deit-tiny', img_size=32, patch_size=4).state_dict()),
        vit)
    junk = tmp_path / 'junk.pth'
    junk.write_bytes(b'\x00not a checkpoint' * 50)
    for path, msg in ((vit, 'holds no SemanticMIM encoder'),
                      (str(junk), 'Cannot read checkpoint')):
        proc = subprocess.run([
            sys.executable, 'tools/model_converters/semanticmim_to_timm.py',
            path,
            str(tmp_path / 'out.safetensors')
        ],
                              cwd=REPO,
                              capture_output=True,
                              text=True)
        assert proc.returncode != 0 and msg in proc.stderr, proc.stderr
        assert path in proc.stderr
    assert not osp.exists(tmp_path / 'out.safetensors')


def test_plain_timm_vit_with_registers(tmp_path, monkeypatch):
    """A timm ViT with a class token and registers (no position for them,
    layer scale, as DINOv2-style models) becomes an exact SemanticMIMViT."""
    torch.manual_seed(0)
    model = timm.create_model(
        'vit_small_patch16_224',
        pretrained=False,
        img_size=32,
        patch_size=4,
        embed_dim=96,
        depth=2,
        num_heads=3,
        reg_tokens=2,
        no_embed_class=True,
        init_values=0.5,
        num_classes=0).eval()
    with torch.no_grad():  # timm inits biases to zero: make them count
        for name, p in model.named_parameters():
            if 'bias' in name or 'norm' in name:
                p.add_(torch.randn_like(p) * 0.1)
    src = str(tmp_path / 'plain.pth')
    torch.save(model.state_dict(), src)
    dst = str(tmp_path / 'ours.pth')
    meta = convert_timm_checkpoint(src, dst, num_heads=3)
    assert meta['num_proxy_tokens'] == 3 and meta['layer_scale']
    enc = SemanticMIMViT.from_checkpoint(dst, out_type='raw').eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(
            enc(x)[-1], model.forward_features(x), rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match='nonzero key bias'):
        convert_timm_checkpoint(src, dst, layer_type='beit')


@pytest.mark.parametrize('layer_type', ['vit', 'beit'])
def test_onnx_export_matches_pytorch(layer_type, tmp_path):
    pytest.importorskip('onnxruntime')
    enc = _encoder(layer_type, 2, out_type='featmap')
    src = _save(enc, str(tmp_path / 'enc.pth'))
    out = str(tmp_path / 'enc.onnx')
    model = onnx_export.export_encoder_onnx(src, out, dynamic_size=True)
    errors = onnx_export.check_encoder_onnx(model, out, [(1, 32, 32),
                                                         (3, 48, 36)], 1e-4)
    assert set(errors) == {(1, 32, 32), (3, 48, 36)}
    assert max(errors.values()) < 1e-4
    with pytest.raises(ValueError, match='untrained norm'):
        onnx_export.export_encoder_onnx(src, out, out_type='avg_featmap')


def test_extracted_backbone_keeps_an_unknown_head_count_unknown(
        pretrain_checkpoint, tmp_path):
    """A checkpoint without encoder meta: the head count is unknown, and
    the extracted file must not record one."""
    from mmsemanticmim.checkpoint import extract_encoder as extract
    from mmsemanticmim.checkpoint import load_encoder_checkpoint
    ckpt = torch.load(pretrain_checkpoint, weights_only=True)
    ckpt['meta'].pop(META_KEY)
    bare = str(tmp_path / 'bare.pth')
    torch.save(ckpt, bare)
    assert not load_encoder_checkpoint(bare).meta.heads_recorded
    extract(bare, str(tmp_path / 'enc.pth'))
    written = torch.load(tmp_path / 'enc.pth', weights_only=True)['meta']
    assert 'num_heads' not in written[META_KEY]
    info = load_encoder_checkpoint(str(tmp_path / 'enc.pth'))
    assert not info.meta.heads_recorded
    # a recorded count stays recorded
    extract(pretrain_checkpoint, str(tmp_path / 'enc2.pth'))
    info = load_encoder_checkpoint(str(tmp_path / 'enc2.pth'))
    assert info.meta.heads_recorded


def test_timm_round_trip_never_guesses_a_head_count(tmp_path):
    """timm needs a head count: a file that does not record one is refused
    (naming --num-heads) until one is given, which is then recorded; a
    recorded count survives the round trip; a plain timm file without a
    config needs one too."""
    from mmsemanticmim.checkpoint import HeadCountUnknownError
    enc = _encoder('vit', 1)
    heads = enc.arch_settings['num_heads']
    meta = enc.checkpoint_meta()
    meta.num_heads = None  # as a checkpoint that does not record it
    src = str(tmp_path / 'enc.pth')
    torch.save(
        dict(meta={META_KEY: meta.to_dict()}, state_dict=enc.state_dict()),
        src)
    dst = tmp_path / 'vit.safetensors'
    with pytest.raises(HeadCountUnknownError, match='--num-heads N'):
        write_timm_checkpoint(src, str(dst))
    assert not dst.exists()
    cfg = write_timm_checkpoint(src, str(dst), num_heads=heads)
    assert cfg['model_args']['num_heads'] == cfg[META_KEY]['num_heads'] == \
        heads
    back = convert_timm_checkpoint(str(dst), str(tmp_path / 'back.pth'))
    assert back['num_heads'] == heads
    # a recorded count survives the round trip
    src = _save(enc, str(tmp_path / 'rec.pth'))
    write_timm_checkpoint(src, str(tmp_path / 'rec.safetensors'))
    back = convert_timm_checkpoint(
        str(tmp_path / 'rec.safetensors'), str(tmp_path / 'rec_back.pth'))
    assert back['num_heads'] == heads
    # a plain timm state dict says nothing about heads
    from mmsemanticmim.checkpoint.timm_interop import encoder_to_timm
    tstate, _ = encoder_to_timm(enc.state_dict(), enc.checkpoint_meta())
    torch.save(tstate, tmp_path / 'plain.pth')
    with pytest.raises(ValueError, match='give it with --num-heads N'):
        convert_timm_checkpoint(
            str(tmp_path / 'plain.pth'), str(tmp_path / 'plain_back.pth'))
    assert not (tmp_path / 'plain_back.pth').exists()
    back = convert_timm_checkpoint(
        str(tmp_path / 'plain.pth'),
        str(tmp_path / 'plain_back.pth'),
        num_heads=heads)
    assert back['num_heads'] == heads
    with pytest.raises(ValueError, match='5 heads do not divide the width'):
        convert_timm_checkpoint(
            str(tmp_path / 'plain.pth'),
            str(tmp_path / 'bad.pth'),
            num_heads=5)


def test_timm_folder_format_loads_with_local_dir(tmp_path):
    """A folder in timm's format: ``timm.create_model('local-dir:DIR',
    pretrained=True)`` gives our encoder's features, and it reads back."""
    enc = _encoder('beit', 4)
    src = _save(enc, str(tmp_path / 'enc.pth'), prefix='backbone.')
    out = str(tmp_path / 'timm_dir')
    run = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/model_converters/semanticmim_to_timm.py'), src,
        out
    ],
                         capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert sorted(os.listdir(out)) == ['config.json', 'model.safetensors']
    model = timm.create_model(f'local-dir:{out}', pretrained=True).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ours = enc(x)[-1]
        theirs = model.forward_features(x)
    assert torch.allclose(theirs[:, :4], ours[:, :4], atol=1e-5)
    back = str(tmp_path / 'back.pth')
    meta = convert_timm_checkpoint(out, back)
    assert meta['num_proxy_tokens'] == 4 and meta['layer_type'] == 'beit'


def test_hubconf_gives_the_encoder_of_a_checkpoint(tmp_path):
    enc = SemanticMIMViT(arch='base', num_proxy_tokens=2, out_type='raw')
    path = _save(enc, str(tmp_path / 'base.pth'))
    loaded = torch.hub.load(
        REPO,
        'semanticmim_vit_base_p16',
        source='local',
        checkpoint=path,
        out_type='raw')
    assert loaded.num_proxy_tokens == 2
    assert torch.equal(loaded.proxy_tokens, enc.proxy_tokens)
    with pytest.raises(ValueError, match='entry of its size'):
        torch.hub.load(
            REPO, 'semanticmim_vit_large_p16', source='local', checkpoint=path)
    fresh = torch.hub.load(
        REPO, 'semanticmim_vit_base_p16', source='local', num_proxy_tokens=8)
    assert fresh.proxy_tokens.shape == (1, 8, 768)


def test_timm_destination_is_a_folder_or_safetensors(tmp_path):
    from mmsemanticmim.checkpoint.timm_files import is_timm_folder_target
    assert is_timm_folder_target(str(tmp_path / 'vit_dir'))
    assert not is_timm_folder_target(str(tmp_path / 'vit.safetensors'))
    with pytest.raises(ValueError, match='ending in .safetensors'):
        is_timm_folder_target(str(tmp_path / 'vit.pth'))
