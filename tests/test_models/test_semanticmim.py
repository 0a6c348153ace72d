"""SemanticMIM's forward: the attention pattern, the lockstep equivalence, and
the baseline's equality with mmpretrain's own MaskFeat and BEiT."""
import copy

import pytest
import torch
from mmpretrain.structures import DataSample

from mmsemanticmim.datasets import SemanticMIMMaskGenerator
from mmsemanticmim.models import SemanticMIM
from mmsemanticmim.registry import MODELS

TINY = dict(embed_dims=48, num_layers=3, num_heads=3, feedforward_channels=96)


def tiny_model(layer_type='vit',
               bottleneck=True,
               num_proxy_tokens=4,
               img_size=32,
               patch_size=8):
    scale = 0.1 if layer_type == 'beit' else 0.
    cfg = dict(
        type='SemanticMIM',
        bottleneck=bottleneck,
        backbone=dict(
            type='SemanticMIMPretrainViT',
            arch=TINY,
            img_size=img_size,
            patch_size=patch_size,
            num_proxy_tokens=num_proxy_tokens,
            layer_type=layer_type,
            layer_scale_init_value=scale),
        neck=dict(
            type='ProxyReconstructionNeck',
            arch=TINY,
            layer_type=layer_type,
            layer_scale_init_value=scale) if bottleneck else None,
        head=dict(
            type='MaskedRegressionHead',
            predictor=dict(
                type='LinearNeck',
                in_channels=48,
                out_channels=27 * (patch_size // 4)**2,
                norm_cfg=None),
            loss=dict(type='PixelReconstructionLoss', criterion='L2')),
        target_generator=dict(
            type='PatchHOGGenerator',
            pool=4,
            gaussian_window=8,
            patch_size=patch_size))
    model = MODELS.build(cfg)
    model.init_weights()
    return model.eval()


def masks(batch, ratio, img_size=32, patch=8, seed=0, pred_ratio=None):
    torch.manual_seed(seed)
    import numpy as np
    np.random.seed(seed)
    gen = SemanticMIMMaskGenerator(img_size, patch, patch, ratio, pred_ratio)
    out = [gen.transform({}) for _ in range(batch)]
    return out


def samples(mask_dicts):
    result = []
    for d in mask_dicts:
        s = DataSample()
        for k, v in d.items():
            s.set_field(v, k)
        result.append(s)
    return result


def reconstruct(model, x, mask, pred_mask=None):
    enc = model.backbone(x, mask, pred_mask, model.bottleneck)
    out = model.neck(enc.proxy_states, enc.mask_queries) \
        if model.bottleneck else enc.mask_outputs
    return enc, model.backbone.ln1(out)


@pytest.mark.parametrize('layer_type', ['vit', 'beit'])
def test_shapes(layer_type):
    model = tiny_model(layer_type)
    x = torch.randn(2, 3, 32, 32)
    mask = torch.stack([m['mask'] for m in masks(2, 0.75)])
    enc, out = reconstruct(model, x, mask)
    assert len(enc.proxy_states) == 3
    assert enc.proxy_states[0].shape == (2, 4, 48)
    assert enc.mask_queries.shape == (2, 12, 48)
    assert out.shape == (2, 12, 48)
    assert enc.pred_index.shape == (2, 12)
    assert (torch.gather(mask.flatten(1), 1, enc.pred_index) == 1).all()
    loss = model.loss(x, samples(masks(2, 0.75)))['loss']
    assert loss.ndim == 0 and torch.isfinite(loss)


def test_mask_tokens_see_the_image_only_through_the_proxies():
    model = tiny_model()
    mask = torch.stack([m['mask'] for m in masks(2, 0.5)])
    x = torch.randn(2, 3, 32, 32, requires_grad=True)
    enc, out = reconstruct(model, x, mask)
    # With the proxy path cut, nothing of the image reaches [MASK].
    cut = model.neck(
        tuple(p.detach() for p in enc.proxy_states), enc.mask_queries)
    assert torch.autograd.grad(cut.sum(), x, allow_unused=True)[0] is None
    # Through the proxies, visible pixels do reach it ...
    grad = torch.autograd.grad(out.sum(), x)[0]
    pix = mask.repeat_interleave(8, 1).repeat_interleave(8, 2)[:, None]
    assert grad.mul(1 - pix).abs().sum() > 0
    # ... and hidden pixels never do.
    assert grad.mul(pix).abs().sum() == 0
    # Changing visible content changes [MASK] outputs; changing only hidden
    # content changes nothing.
    with torch.no_grad():
        _, same = reconstruct(model, x + 5 * pix * torch.randn_like(x), mask)
        _, other = reconstruct(model, x + (1 - pix) * torch.randn_like(x),
                               mask)
    assert torch.allclose(same, out, atol=1e-6)
    assert not torch.allclose(other, out, atol=1e-3)


def test_proxies_and_image_never_depend_on_mask_tokens():
    model = tiny_model()
    x = torch.randn(2, 3, 32, 32)
    m = masks(2, 0.5, pred_ratio=0.25)
    mask = torch.stack([d['mask'] for d in m])
    pred = torch.stack([d['pred_mask'] for d in m])
    with torch.no_grad():
        enc, _ = reconstruct(model, x, mask, pred)
        model.backbone.mask_token.add_(
            torch.randn_like(model.backbone.mask_token))
        enc2, _ = reconstruct(model, x, mask, 1 - pred[:, :, :])
    # A different mask embedding and a different set of queries: the proxy
    # states (hence every encoder token) are the same numbers.
    for a, b in zip(enc.proxy_states, enc2.proxy_states):
        assert torch.equal(a, b)


def test_lockstep_forward_equals_stack_after_encoder():
    model = tiny_model('beit')
    x = torch.randn(2, 3, 32, 32)
    mask = torch.stack([d['mask'] for d in masks(2, 0.6)])
    with torch.no_grad():
        _, after = reconstruct(model, x, mask)
        # The paper's loop: encoder layer l, then reconstruction layer l.
        bb = model.backbone
        from mmsemanticmim.models.utils import gather_tokens, mask_to_indices
        vis, hid = mask_to_indices(mask)
        patches, proxies, pos, _ = bb._embed(x)
        tokens = torch.cat((proxies, gather_tokens(patches, vis)), 1)
        m = bb.mask_token + gather_tokens(pos.expand(2, -1, -1), hid)
        for enc_layer, rec_layer in zip(bb.layers, model.neck.layers):
            tokens = enc_layer(tokens)
            p = tokens[:, :bb.num_proxy_tokens]
            # keys/values [P_l; M_(l-1)], written out as one sequence
            m = rec_layer(m, prefix=p)
        lockstep = bb.ln1(m)
    assert torch.allclose(after, lockstep, atol=1e-6)


def _copy_into(ours, theirs, rename):
    state = {}
    for k, v in theirs.state_dict().items():
        for a, b in rename.items():
            k = k.replace(a, b)
        state[k] = v
    missing, unexpected = ours.load_state_dict(state, strict=False)
    assert not unexpected, unexpected
    # Only our (baseline-unused) pieces may be missing.
    assert all(k.startswith('target_generator') for k in missing), missing


def test_baseline_equals_mmpretrain_maskfeat():
    """bottleneck off, one proxy, same weights and mask: same loss."""
    from mmpretrain.models import MaskFeat
    arch = dict(
        embed_dims=48, num_layers=2, num_heads=3, feedforward_channels=96)
    theirs = MaskFeat(
        backbone=dict(type='MaskFeatViT', arch=arch, patch_size=16),
        neck=dict(
            type='LinearNeck', in_channels=48, out_channels=108,
            norm_cfg=None),
        head=dict(
            type='MIMHead',
            loss=dict(type='PixelReconstructionLoss', criterion='L2')),
        target_generator=dict(
            type='HOGGenerator', nbins=9, pool=8, gaussian_window=16))
    theirs.init_weights()
    ours = MODELS.build(
        dict(
            type='SemanticMIM',
            bottleneck=False,
            backbone=dict(
                type='SemanticMIMPretrainViT',
                arch=arch,
                num_proxy_tokens=1,
                layer_type='vit'),
            head=dict(
                type='MaskedRegressionHead',
                predictor=dict(
                    type='LinearNeck',
                    in_channels=48,
                    out_channels=108,
                    norm_cfg=None),
                loss=dict(type='PixelReconstructionLoss', criterion='L2')),
            target_generator=dict(type='PatchHOGGenerator')))
    _copy_into(
        ours, theirs, {
            'backbone.cls_token': 'backbone.proxy_tokens',
            'neck.fc': 'head.predictor.fc'
        })
    x = torch.randn(2, 3, 224, 224)
    ds = samples(masks(2, 0.4, img_size=224, patch=16))
    theirs.eval(), ours.eval()
    with torch.no_grad():
        a = theirs.loss(x, copy.deepcopy(ds))['loss']
        b = ours.loss(x, ds)['loss']
    assert torch.allclose(a, b, atol=1e-5, rtol=0), (a, b)


def test_baseline_equals_mmpretrain_beit_abs_pos():
    from mmpretrain.models import BEiT
    arch = dict(
        embed_dims=48, num_layers=2, num_heads=3, feedforward_channels=96)
    tokenizer = dict(type='DALL-E', n_hid=16, n_blk_per_group=1, vocab_size=64)
    theirs = BEiT(
        backbone=dict(
            type='BEiTPretrainViT',
            arch=arch,
            patch_size=16,
            use_abs_pos_emb=True,
            use_rel_pos_bias=False,
            use_shared_rel_pos_bias=False,
            layer_scale_init_value=0.1),
        head=dict(
            type='BEiTV1Head',
            embed_dims=48,
            num_embed=64,
            loss=dict(type='CrossEntropyLoss')),
        target_generator=tokenizer,
        data_preprocessor=dict(
            type='TwoNormDataPreprocessor',
            mean=[0] * 3,
            std=[1] * 3,
            second_mean=[0] * 3,
            second_std=[1] * 3))
    theirs.init_weights()
    ours = MODELS.build(
        dict(
            type='SemanticMIM',
            bottleneck=False,
            backbone=dict(
                type='SemanticMIMPretrainViT',
                arch=arch,
                num_proxy_tokens=1,
                layer_type='beit',
                layer_scale_init_value=0.1),
            head=dict(
                type='MaskedTokenClsHead',
                embed_dims=48,
                num_embed=64,
                loss=dict(type='CrossEntropyLoss')),
            target_generator=tokenizer))
    _copy_into(ours, theirs, {'backbone.cls_token': 'backbone.proxy_tokens'})
    # mmpretrain's DALL-E weights load too (same module): check they did.
    theirs_tok = theirs.target_generator.state_dict()
    ours_tok = ours.target_generator.state_dict()
    assert theirs_tok.keys() == ours_tok.keys() and len(ours_tok) > 10
    for k, v in theirs_tok.items():
        assert torch.equal(ours_tok[k], v), k
    x, x2 = torch.randn(2, 3, 224, 224), torch.randn(2, 3, 112, 112)
    ds = samples(masks(2, 0.4, img_size=224, patch=16))
    theirs.eval(), ours.eval()
    with torch.no_grad():
        a = theirs.loss([x, x2], copy.deepcopy(ds))['loss']
        b = ours.loss([x, x2], ds)['loss']
    assert torch.allclose(a, b, atol=1e-5, rtol=0), (a, b)


def test_loss_equals_the_specs_forward_with_independent_pred_mask():
    """model.loss against the spec's forward written per sample with boolean
    masks and plain self-attention: encoder layer l over [P; V], then
    reconstruction layer l as self-attention over [P_l; M_(l-1)] keeping
    the [MASK] rows (which is what "keys/values [P_l; M_(l-1)]" means);
    the predicted set is drawn independently of the hidden one. Attending
    to visible tokens, to P_(l-1), or missing the position prior of [MASK]
    would all change the number."""
    model = tiny_model('beit')
    Np = model.backbone.num_proxy_tokens
    x = torch.randn(2, 3, 32, 32)
    m = masks(2, 0.5, pred_ratio=0.25)
    assert any(not torch.equal(d['mask'].bool()
                               | d['pred_mask'].bool(), d['mask'].bool())
               for d in m)
    with torch.no_grad():
        loss = model.loss(x, samples(m))['loss']
        bb, neck, head = model.backbone, model.neck, model.head
        patches = bb.patch_embed(x)[0] + bb.pos_embed[:, Np:]
        proxies = bb.proxy_tokens + bb.pos_embed[:, :Np]
        target = model.target_generator(x)
        errors = []
        for b, d in enumerate(m):
            visible = ~d['mask'].flatten().bool()
            pred = d['pred_mask'].flatten().bool()
            seq = torch.cat((proxies[0], patches[b][visible]))[None]
            queries = (bb.mask_token[0] + bb.pos_embed[0, Np:][pred])[None]
            for enc_layer, rec_layer in zip(bb.layers, neck.layers):
                seq = enc_layer(seq)
                queries = rec_layer(torch.cat((seq[:, :Np], queries), 1))[:,
                                                                          Np:]
            out = head.predictor((bb.ln1(queries)[0], ))[0]
            errors.append((out - target[b][pred])**2)
        reference = torch.cat(errors).mean()
    torch.testing.assert_close(loss, reference, rtol=0, atol=1e-6)


def test_head_errors():
    from mmsemanticmim.models import MaskedRegressionHead, MaskedTokenClsHead
    reg = MaskedRegressionHead(
        predictor=dict(
            type='LinearNeck', in_channels=48, out_channels=10, norm_cfg=None),
        loss=dict(type='PixelReconstructionLoss', criterion='L2'))
    index = torch.tensor([[0, 3]])
    with pytest.raises(
            ValueError, match='set the predictor out_channels '
            'to 27'):
        reg.loss(torch.randn(1, 2, 48), torch.randn(1, 16, 27), index)
    cls = MaskedTokenClsHead(
        embed_dims=48, num_embed=8, loss=dict(type='CrossEntropyLoss'))
    with pytest.raises(ValueError, match='tokenizer grid'):
        # a 2x2 code grid cannot score patch 5
        cls.loss(
            torch.randn(1, 2, 48), torch.randn(1, 8, 2, 2),
            torch.tensor([[1, 5]]))
    ok = cls.loss(torch.randn(1, 2, 48), torch.randn(1, 8, 4, 4), index)
    assert ok.ndim == 0 and torch.isfinite(ok)


# ---------------------------------------------------------------- errors ---
def test_zero_proxies_with_bottleneck_is_an_error():
    with pytest.raises(ValueError, match='num_proxy_tokens'):
        tiny_model(num_proxy_tokens=0)
    tiny_model(num_proxy_tokens=0, bottleneck=False)  # the baseline may


def test_neck_and_bottleneck_must_agree():
    cfg = dict(
        backbone=dict(type='SemanticMIMPretrainViT', arch=TINY),
        head=dict(
            type='MaskedTokenClsHead',
            embed_dims=48,
            num_embed=8,
            loss=dict(type='CrossEntropyLoss')))
    with pytest.raises(ValueError, match='model.neck'):
        SemanticMIM(bottleneck=True, **cfg)
    with pytest.raises(ValueError, match='model.neck=None'):
        SemanticMIM(
            bottleneck=False,
            neck=dict(type='ProxyReconstructionNeck', arch=TINY),
            **cfg)


def test_img_size_not_divisible_by_patch_size():
    with pytest.raises(
            ValueError, match='img_size .* divisible by '
            'patch_size'):
        MODELS.build(
            dict(
                type='SemanticMIMPretrainViT',
                arch=TINY,
                img_size=30,
                patch_size=8))


def test_ragged_mask_batch_is_an_error():
    model = tiny_model()
    m = masks(2, 0.5)
    m[1]['mask'] = masks(1, 0.75, seed=3)[0]['mask']
    with pytest.raises(ValueError, match='same number of patches'):
        model.loss(torch.randn(2, 3, 32, 32), samples(m))


def test_wrong_input_size_is_an_error():
    model = tiny_model()
    with pytest.raises(ValueError, match='img_size'):
        model.loss(torch.randn(2, 3, 48, 48), samples(masks(2, 0.5)))


def test_missing_mask_in_data_samples():
    model = tiny_model()
    with pytest.raises(KeyError, match='SemanticMIMMaskGenerator'):
        model.loss(torch.randn(2, 3, 32, 32), [DataSample(), DataSample()])


def test_neck_depth_must_match_encoder():
    model = tiny_model()
    enc = model.backbone(
        torch.randn(1, 3, 32, 32),
        masks(1, 0.5)[0]['mask'][None])
    with pytest.raises(ValueError, match='same arch as the backbone'):
        model.neck(enc.proxy_states[:2], enc.mask_queries)


@pytest.mark.parametrize('layer_type', ['vit', 'beit'])
def test_neck_follows_the_backbone(layer_type):
    """A neck config without arch / layer type / layer scale builds the
    stack of the backbone's; a given arch of another depth or width fails
    at build time, naming the key."""
    import copy
    scale = 0.1 if layer_type == 'beit' else 0.
    backbone = dict(
        type='SemanticMIMPretrainViT',
        arch=TINY,
        img_size=32,
        patch_size=8,
        num_proxy_tokens=4,
        layer_type=layer_type,
        layer_scale_init_value=scale)
    cfg = dict(
        type='SemanticMIM',
        backbone=backbone,
        neck=dict(type='ProxyReconstructionNeck'),
        head=dict(
            type='MaskedRegressionHead',
            predictor=dict(
                type='LinearNeck',
                in_channels=48,
                out_channels=108,
                norm_cfg=None),
            loss=dict(type='PixelReconstructionLoss', criterion='L2')),
        target_generator=dict(
            type='PatchHOGGenerator', pool=4, gaussian_window=8, patch_size=8))
    torch.manual_seed(0)
    derived = MODELS.build(copy.deepcopy(cfg))
    torch.manual_seed(0)
    explicit = tiny_model(layer_type)
    assert derived.neck.num_layers == TINY['num_layers']
    assert derived.neck.layer_type == layer_type
    assert (derived.neck.layers[0].gamma_1 is None) == (scale == 0)
    assert {k: v.shape for k, v in derived.neck.state_dict().items()} == \
        {k: v.shape for k, v in explicit.neck.state_dict().items()}
    for deeper in (dict(TINY, num_layers=TINY['num_layers'] + 1),
                   dict(TINY, embed_dims=64)):
        bad = copy.deepcopy(cfg)
        bad['neck']['arch'] = deeper
        with pytest.raises(ValueError, match='model.neck.arch'):
            MODELS.build(bad)
