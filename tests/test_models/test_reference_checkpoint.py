"""Checkpoints of the authors' code become ours and compute the same.

The reference side is the forward of the paper (arXiv 2406.10673) and the
authors' code (yyk-wew/SemanticMIM), written here on their parameter names
(``cls_token``, split ``q``/``kv`` or ``q_proj``/``kv_proj`` projections,
``extra_layers``, ``neck.fc``); the weights are random, laid out as the
authors' models save them.
"""
import math
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from mmsemanticmim.checkpoint.reference import (ReferenceFormatError,
                                                convert_reference_checkpoint,
                                                is_reference_state)
from helpers import REPO, TINY_CONFIGS
from test_semanticmim import TINY, masks, samples, tiny_model

TOOL = f'{REPO}/tools/model_converters/reference_to_semanticmim.py'
CFG_TEXT = ("model = dict(type='MaskFeatOurs', backbone=dict(type="
            f"'MaskFeatViTOurs', arch={dict(TINY)!r}, use_bottleneck=True))\n")


def to_reference(state, beit: bool):
    """Our state dict in the authors' names (the inverse of the tool)."""
    out = {}
    for key, value in state.items():
        key = key.replace('backbone.proxy_tokens', 'backbone.cls_token')
        key = key.replace('neck.layers.', 'backbone.extra_layers.')
        key = key.replace('head.predictor.fc.', 'neck.fc.')
        if key.endswith('attn.qkv.weight') or key.endswith('attn.qkv.bias'):
            base, kind = key.rsplit('.qkv.', 1)
            d = value.shape[0] // 3
            q, kv = value[:d], value[d:]
            names = ('q_proj', 'kv_proj') if beit else ('q', 'kv')
            out[f'{base}.{names[0]}.{kind}'] = q
            out[f'{base}.{names[1]}.{kind}'] = kv
        else:
            out[key] = value
    return out


def _ref_layer(s, p, q, kv, heads, beit):
    """One layer of the authors' code: q attends to kv (one shared ln1)."""
    d = q.shape[-1]

    def ln(x, name):
        return F.layer_norm(x, (d, ), s[p + name + '.weight'],
                            s[p + name + '.bias'], 1e-6)

    qn, kvn = ln(q, 'ln1'), ln(kv, 'ln1')
    if beit:
        Q = qn @ s[p + 'attn.q_proj.weight'].T + s[p + 'attn.q_bias']
        KV = kvn @ s[p + 'attn.kv_proj.weight'].T + torch.cat(
            (torch.zeros_like(s[p + 'attn.v_bias']), s[p + 'attn.v_bias']))
    else:
        Q = qn @ s[p + 'attn.q.weight'].T + s[p + 'attn.q.bias']
        KV = kvn @ s[p + 'attn.kv.weight'].T + s[p + 'attn.kv.bias']
    K, V = KV[..., :d], KV[..., d:]

    def split(t):
        return t.reshape(t.shape[0], t.shape[1], heads, -1).transpose(1, 2)

    Q, K, V = split(Q), split(K), split(V)
    att = (Q @ K.transpose(-2, -1) / math.sqrt(d // heads)).softmax(-1) @ V
    att = att.transpose(1, 2).reshape(q.shape)
    att = att @ s[p + 'attn.proj.weight'].T + s[p + 'attn.proj.bias']
    h = q + (s[p + 'gamma_1'] * att if beit else att)
    f = F.gelu(
        ln(h, 'ln2') @ s[p + 'ffn.layers.0.0.weight'].T +
        s[p + 'ffn.layers.0.0.bias'])
    f = f @ s[p + 'ffn.layers.1.weight'].T + s[p + 'ffn.layers.1.bias']
    return h + (s[p + 'gamma_2'] * f if beit else f)


def reference_loss(s, x, mask, target, heads, patch):
    """MaskFeat-style loss of the authors' forward (yyk-wew/SemanticMIM)."""
    beit = any(k.endswith('q_proj.weight') for k in s)
    np_ = s['backbone.cls_token'].shape[1]
    pos = s['backbone.pos_embed']
    e = F.conv2d(
        x,
        s['backbone.patch_embed.projection.weight'],
        s['backbone.patch_embed.projection.bias'],
        stride=patch)
    e = e.flatten(2).transpose(1, 2)
    b, d = e.shape[0], e.shape[-1]
    m = mask.flatten(1).bool()
    P = (s['backbone.cls_token'] + pos[:, :np_]).expand(b, -1, -1)
    X = e + pos[:, np_:]
    V = X[~m].reshape(b, -1, d)
    M = (s['backbone.mask_token'] + pos[:, np_:].expand(b, -1, -1))[m]
    M = M.reshape(b, -1, d)
    depth = 1 + max(
        int(k.split('.')[2]) for k in s if k.startswith('backbone.layers.'))
    if any(k.startswith('backbone.extra_layers.') for k in s):
        for i in range(depth):
            pv = torch.cat((P, V), 1)
            pv = _ref_layer(s, f'backbone.layers.{i}.', pv, pv, heads, beit)
            P, V = pv[:, :np_], pv[:, np_:]
            M = _ref_layer(s, f'backbone.extra_layers.{i}.', M,
                           torch.cat((P, M), 1), heads, beit)
    else:
        z = torch.cat((P, V, M), 1)
        for i in range(depth):
            z = _ref_layer(s, f'backbone.layers.{i}.', z, z, heads, beit)
        M = z[:, -M.shape[1]:]
    out = F.layer_norm(M, (d, ), s['backbone.ln1.weight'],
                       s['backbone.ln1.bias'], 1e-6)
    pred = out @ s['neck.fc.weight'].T + s['neck.fc.bias']
    return ((pred - target[m].reshape(pred.shape))**2).mean()


@pytest.mark.parametrize('layer_type', ['vit', 'beit'])
@pytest.mark.parametrize('bottleneck, num_proxy_tokens', [(True, 3),
                                                          (False, 1)])
def test_converted_checkpoint_computes_the_reference_loss(
        tmp_path, layer_type, bottleneck, num_proxy_tokens):
    torch.manual_seed(0)
    source = tiny_model(layer_type, bottleneck, num_proxy_tokens)
    with torch.no_grad():  # nothing left at its init value (zeros, ones)
        for p in source.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    reference = to_reference(source.state_dict(), layer_type == 'beit')
    assert is_reference_state(reference)
    src = tmp_path / 'authors.pth'
    torch.save(dict(meta=dict(cfg=CFG_TEXT), state_dict=reference), src)
    done = convert_reference_checkpoint(str(src), str(tmp_path / 'ours.pth'))
    assert done['info'] == dict(
        target='maskfeat',
        bottleneck=bottleneck,
        num_proxy_tokens=num_proxy_tokens)
    assert done['meta'].num_heads == TINY['num_heads']
    assert done['meta'].heads_recorded
    ours = tiny_model(layer_type, bottleneck, num_proxy_tokens)
    ckpt = torch.load(tmp_path / 'ours.pth', weights_only=True)
    ours.load_state_dict(ckpt['state_dict'], strict=True)
    x = torch.randn(2, 3, 32, 32)
    m = masks(2, 0.6 if bottleneck else 0.4)
    mask = torch.stack([d['mask'] for d in m])
    with torch.no_grad():
        loss = ours.loss(x, samples(m))['loss']
        expected = reference_loss(
            reference,
            x,
            mask,
            ours.target_generator(x),
            TINY['num_heads'],
            patch=8)
    torch.testing.assert_close(loss, expected, rtol=0, atol=1e-5)


def test_beit_instantiation_loads_into_our_beit_config(tmp_path):
    """The BEiT-based model's head and DALL-E tensors keep their names:
    the converted file loads strictly into our tiny BEiT-target model, and
    --backbone-only gives the extracted-encoder format."""
    from mmsemanticmim.registry import MODELS
    cfg = Config.fromfile(TINY_CONFIGS['beit'])
    cfg.model.target_generator.pop('init_cfg', None)
    model = MODELS.build(cfg.model)
    src = tmp_path / 'authors.pth'
    torch.save(dict(state_dict=to_reference(model.state_dict(), True)), src)
    # no config text in the file: the head count is asked for, not guessed
    with pytest.raises(
            ReferenceFormatError,
            match='give it with '
            '--num-heads N. Nothing written'):
        convert_reference_checkpoint(str(src), str(tmp_path / 'ours.pth'))
    assert not (tmp_path / 'ours.pth').exists()
    heads = model.backbone.arch_settings['num_heads']
    done = convert_reference_checkpoint(
        str(src), str(tmp_path / 'ours.pth'), num_heads=heads)
    assert done['info']['target'] == 'beit'
    assert done['meta'].num_heads == heads
    state = torch.load(tmp_path / 'ours.pth', weights_only=True)
    model.load_state_dict(state['state_dict'], strict=True)
    run = subprocess.run([
        sys.executable, TOOL,
        str(src),
        str(tmp_path / 'enc.pth'), '--backbone-only', '--num-heads',
        str(heads)
    ],
                         capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr
    from mmsemanticmim.models import SemanticMIMViT
    enc = SemanticMIMViT.from_checkpoint(str(tmp_path / 'enc.pth'))
    assert enc.num_proxy_tokens == model.backbone.num_proxy_tokens


def test_loading_tools_name_the_converter(tmp_path):
    model = tiny_model('vit', True, 2)
    src = tmp_path / 'authors.pth'
    torch.save(dict(state_dict=to_reference(model.state_dict(), False)), src)
    from mmsemanticmim.models import SemanticMIMViT
    with pytest.raises(ValueError, match='reference_to_semanticmim.py'):
        SemanticMIMViT.from_checkpoint(str(src))
    run = subprocess.run([
        sys.executable, f'{REPO}/tools/model_converters/extract_backbone.py',
        str(src),
        str(tmp_path / 'x.pth')
    ],
                         capture_output=True,
                         text=True)
    assert run.returncode != 0 and 'reference_to_semanticmim.py' in (
        run.stderr)
    torch.save(dict(state_dict=model.state_dict()), tmp_path / 'ours.pth')
    with pytest.raises(ReferenceFormatError, match='Nothing written'):
        convert_reference_checkpoint(
            str(tmp_path / 'ours.pth'), str(tmp_path / 'y.pth'))
    assert not (tmp_path / 'y.pth').exists()
