"""SemanticMIMViT on its own: construction errors, outputs, drop path and
init schedules, position-embedding resizing, layer depths, and reading the
architecture of a checkpoint that carries no meta."""
import pytest
import torch
from mmpretrain.models.utils import resize_pos_embed

from mmsemanticmim.checkpoint import EncoderMeta, HeadCountUnknownError
from mmsemanticmim.models import (ProxyReconstructionNeck,
                                  SemanticMIMPretrainViT, SemanticMIMViT)

TINY = dict(embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=384)


def encoder(**kwargs):
    cfg = dict(arch=TINY, img_size=32, patch_size=4, num_proxy_tokens=3)
    cfg.update(kwargs)
    enc = SemanticMIMViT(**cfg)
    enc.init_weights()
    return enc.eval()


@pytest.mark.parametrize('kwargs, match', [
    (dict(layer_type='swin'), 'layer_type must be one of'),
    (dict(out_type='tokens'), 'out_type must be one of'),
    (dict(arch='gigantic'), "Unknown arch 'gigantic'"),
    (dict(arch=dict(embed_dims=96, num_layers=2)), 'custom arch must be'),
    (dict(num_proxy_tokens=-1), 'num_proxy_tokens must be >= 0'),
    (dict(out_indices=(1, 4)), r'out_indices \[1, 4\] out of range'),
    (dict(out_indices=-5), 'out of range for 4 layers'),
    (dict(num_proxy_tokens=0, out_type='cls_token'), 'pools the proxies'),
    (dict(img_size=30), 'divisible by patch_size'),
    (dict(num_proxy_tokens=None), "init_cfg has no dict\\(type='Pretrained'"),
])
def test_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SemanticMIMViT(
            **dict(dict(arch=TINY, img_size=32, patch_size=4), **kwargs))


def test_neck_constructor_errors():
    with pytest.raises(ValueError, match='Unknown arch'):
        ProxyReconstructionNeck(arch='gigantic')
    with pytest.raises(ValueError, match='layer_type must be one of'):
        ProxyReconstructionNeck(arch=TINY, layer_type='swin')


def test_out_types():
    enc = encoder(out_type='raw', out_indices=(-3, -1))
    assert enc.out_indices == [1, 3]
    x = torch.randn(2, 3, 32, 32)
    raw = enc(x)
    assert [r.shape for r in raw] == [(2, 3 + 64, 96)] * 2
    enc.out_type = 'cls_token'
    enc.ln2 = torch.nn.LayerNorm(96)
    with torch.no_grad():
        enc.ln2.weight.normal_()
        cls = enc(x)[-1]
        assert torch.allclose(cls, enc.ln2(raw[-1][:, :3].mean(1)), atol=1e-6)
    built = encoder(out_type='cls_token')
    assert built(x)[-1].shape == (2, 96)


def test_drop_path_is_linear_over_depth_in_both_stacks():
    enc = encoder(drop_path_rate=0.3)
    neck = ProxyReconstructionNeck(arch=TINY, drop_path_rate=0.3)
    want = [0., 0.1, 0.2, 0.3]
    for stack in (enc, neck):
        got = [
            getattr(layer.drop_path, 'drop_prob', 0.) for layer in stack.layers
        ]
        assert got == pytest.approx(want)
    assert isinstance(enc.layers[0].drop_path, torch.nn.Identity)


@pytest.mark.parametrize('layer_type', ['beit', 'vit'])
def test_depth_rescaled_init_as_mmpretrain_beit(layer_type):
    """BEiT divides each layer's two output projections by sqrt(2 * depth);
    plain ViT layers do not. Compare the weight scale per depth with
    mmpretrain's own BEiT backbone."""
    from mmpretrain.models import BEiTPretrainViT
    arch = dict(
        embed_dims=256, num_layers=6, num_heads=4, feedforward_channels=512)
    torch.manual_seed(0)
    ours = SemanticMIMViT(
        arch=arch,
        img_size=32,
        patch_size=16,
        layer_type=layer_type,
        layer_scale_init_value=0.1 if layer_type == 'beit' else 0.)
    ours.init_weights()
    neck = ProxyReconstructionNeck(arch=arch, layer_type=layer_type)
    neck.init_weights()
    theirs = BEiTPretrainViT(
        arch=arch,
        img_size=32,
        patch_size=16,
        use_abs_pos_emb=True,
        use_rel_pos_bias=False,
        layer_scale_init_value=0.1)
    theirs.init_weights()
    for i in range(6):
        scale = (2. * (i + 1))**0.5 if layer_type == 'beit' else 1.
        for stack in (ours, neck):
            layer = stack.layers[i]
            for w in (layer.attn.proj.weight, layer.ffn.layers[1].weight):
                assert w.std().item() * scale == pytest.approx(0.02, rel=0.06)
        # the same depth schedule as mmpretrain's BEiT (whose base init
        # differs): weight scale of layer i relative to layer 0
        if layer_type == 'beit':
            for name in ('attn.proj.weight', 'ffn.layers.1.weight'):
                ratio = [
                    stack.layers[i].get_parameter(name).std() /
                    stack.layers[0].get_parameter(name).std()
                    for stack in (ours, theirs)
                ]
                assert ratio[0].item() == pytest.approx(
                    ratio[1].item(), rel=0.08), name
        # the input projections are never rescaled
        assert ours.layers[i].attn.qkv.weight.std().item() == \
            pytest.approx(0.02, rel=0.06)


def test_forward_at_another_size_equals_a_model_built_there():
    small = encoder(out_type='featmap')
    with torch.no_grad():
        small.pos_embed.normal_()
    big = SemanticMIMViT(
        arch=TINY,
        img_size=48,
        patch_size=4,
        num_proxy_tokens=3,
        out_type='featmap').eval()
    state = small.state_dict()
    state['pos_embed'] = resize_pos_embed(small.pos_embed, (8, 8), (12, 12),
                                          'bicubic', 3)
    big.load_state_dict(state)
    x = torch.randn(2, 3, 48, 48)
    with torch.no_grad():
        a, b = small(x)[-1], big(x)[-1]
    assert a.shape == (2, 96, 12, 12)
    assert torch.equal(a, b)
    # a non-square input resizes both axes
    assert small(torch.randn(1, 3, 40, 24))[-1].shape == (1, 96, 10, 6)


def test_layer_depths_for_layer_decay():
    enc = SemanticMIMPretrainViT(arch=TINY, img_size=32, patch_size=4)
    total = 4 + 2
    for name, depth in [('proxy_tokens', 0),
                        ('pos_embed', 0), ('mask_token', 0),
                        ('patch_embed.projection.weight', 0),
                        ('layers.0.attn.qkv.weight', 1),
                        ('layers.3.ffn.layers.1.bias', 4), ('ln1.weight', 5),
                        ('ln2.bias', 5)]:
        assert enc.get_layer_depth('backbone.' + name, 'backbone.') == \
            (depth, total), name
    assert enc.get_layer_depth('head.fc.weight', 'backbone.') == (5, total)


@pytest.mark.parametrize('layer_type', ['vit', 'beit'])
def test_architecture_is_read_from_weights_without_meta(layer_type, tmp_path):
    arch = dict(
        embed_dims=128, num_layers=3, num_heads=2, feedforward_channels=256)
    src = SemanticMIMPretrainViT(
        arch=arch,
        img_size=(48, 48),
        patch_size=8,
        num_proxy_tokens=5,
        layer_type=layer_type,
        layer_scale_init_value=0.1 if layer_type == 'beit' else 0.)
    src.init_weights()
    state = {'backbone.' + k: v for k, v in src.state_dict().items()}
    meta = EncoderMeta.from_state({k[9:]: v for k, v in state.items()})
    assert meta == EncoderMeta(
        num_proxy_tokens=5,
        layer_type=layer_type,
        layer_scale=layer_type == 'beit',
        embed_dims=128,
        num_layers=3,
        feedforward_channels=256,
        patch_size=8,
        img_size=[48, 48])
    # heads leave no trace in the weights: unknown, never guessed
    assert not meta.heads_recorded
    assert 'num_heads' not in meta.to_dict()
    with pytest.raises(HeadCountUnknownError, match='--num-heads N'):
        meta.arch
    path = str(tmp_path / 'no_meta.pth')
    torch.save(dict(state_dict=state), path)
    with pytest.raises(
            HeadCountUnknownError,
            match=f'{path} does not record its number of '
            'attention heads'):
        SemanticMIMViT.from_checkpoint(path, out_type='raw')
    with pytest.raises(ValueError, match='num_heads=3 does not divide'):
        SemanticMIMViT.from_checkpoint(path, num_heads=3)
    enc = SemanticMIMViT.from_checkpoint(path, num_heads=2, out_type='raw')
    assert enc.arch_settings['num_heads'] == 2
    assert (enc.num_proxy_tokens, enc.layer_type, enc.img_size) == \
        (5, layer_type, (48, 48))  # a tuple, as when built from a config
    assert torch.equal(enc.layers[2].attn.qkv.weight,
                       src.layers[2].attn.qkv.weight)
    x = torch.randn(1, 3, 48, 48)
    with torch.no_grad():
        assert torch.equal(enc.eval()(x)[-1], src.eval()(x)[-1])


def test_every_loader_resizes_the_position_embedding():
    """A plain ``load_state_dict`` (what mmengine's ``load_from`` and
    mmseg / mmdet do) of a 32-pixel encoder into a 48-pixel one resizes
    ``pos_embed`` as mmpretrain's ``resize_pos_embed`` does, proxies kept."""
    src = SemanticMIMViT(
        arch=TINY, img_size=32, patch_size=4, num_proxy_tokens=2)
    src.init_weights()
    dst = SemanticMIMViT(
        arch=TINY, img_size=48, patch_size=4, num_proxy_tokens=2)
    state = {'backbone.' + k: v for k, v in src.state_dict().items()}
    holder = torch.nn.Module()
    holder.backbone = dst
    holder.load_state_dict(state, strict=False)
    want = resize_pos_embed(src.pos_embed, (8, 8), (12, 12), 'bicubic', 2)
    assert torch.equal(dst.pos_embed, want)
    assert torch.equal(dst.pos_embed[:, :2], src.pos_embed[:, :2])


def test_pretrained_file_is_read_once(tmp_path, monkeypatch):
    """Settings left to the checkpoint and the weights come from one read
    of the file."""
    from mmsemanticmim.checkpoint import META_KEY, encoder_file
    src = SemanticMIMViT(
        arch=TINY, img_size=32, patch_size=4, num_proxy_tokens=3)
    src.init_weights()
    path = str(tmp_path / 'enc.pth')
    torch.save(
        dict(
            state_dict=src.state_dict(),
            meta={META_KEY: src.checkpoint_meta().to_dict()}), path)
    reads = []
    stock = encoder_file.read_checkpoint

    def counting(f, *args, **kwargs):
        reads.append(f)
        return stock(f, *args, **kwargs)

    monkeypatch.setattr(encoder_file, 'read_checkpoint', counting)
    enc = SemanticMIMViT(
        arch=TINY,
        img_size=32,
        patch_size=4,
        num_proxy_tokens=None,
        layer_type=None,
        layer_scale_init_value=None,
        init_cfg=dict(type='Pretrained', checkpoint=path))
    enc.init_weights()
    assert reads == [path]
    assert enc.num_proxy_tokens == 3 and enc._pretrained is None
    assert torch.equal(enc.pos_embed, src.pos_embed)
