"""Activation checkpointing: it really recomputes, and changes no number."""
import torch
import torch.utils.checkpoint

from mmsemanticmim.models import SemanticMIMViT
from test_semanticmim import masks, samples, tiny_model


def _count_checkpoints(monkeypatch):
    """Counts torch.utils.checkpoint.checkpoint calls (our stacks call it
    through the module)."""
    calls = []
    stock = torch.utils.checkpoint.checkpoint

    def counting(fn, *args, **kwargs):
        calls.append(fn)
        return stock(fn, *args, **kwargs)

    monkeypatch.setattr(torch.utils.checkpoint, 'checkpoint', counting)
    return calls


def _saved_tensors(fn):
    """Tensors autograd keeps for backward while running ``fn``."""
    count = [0]

    def pack(t):
        count[0] += 1
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, count[0]


def _loss_and_grads(model, x, ds):
    model.zero_grad()
    loss, saved = _saved_tensors(lambda: model.loss(x, ds)['loss'])
    loss.backward()
    return loss.detach(), saved, {
        n: p.grad.clone()
        for n, p in model.named_parameters() if p.grad is not None
    }


def test_one_key_checkpoints_both_stacks_with_identical_numbers(monkeypatch):
    plain = tiny_model('beit').train()
    cp = tiny_model('beit').train()
    cp.load_state_dict(plain.state_dict())
    # the algorithm's with_cp sets both stacks
    from mmsemanticmim.registry import MODELS
    built = MODELS.build(
        dict(
            type='SemanticMIM',
            with_cp=True,
            backbone=dict(
                type='SemanticMIMPretrainViT',
                arch='deit-tiny',
                img_size=32,
                patch_size=8,
                num_proxy_tokens=1),
            neck=dict(type='ProxyReconstructionNeck', arch='deit-tiny'),
            head=dict(
                type='MaskedTokenClsHead',
                embed_dims=192,
                num_embed=8,
                loss=dict(type='CrossEntropyLoss'))))
    assert built.backbone.with_cp and built.neck.with_cp
    cp.backbone.with_cp = cp.neck.with_cp = True

    x = torch.randn(2, 3, 32, 32)
    ds = samples(masks(2, 0.5))
    loss_a, saved_a, grads_a = _loss_and_grads(plain, x, ds)
    calls = _count_checkpoints(monkeypatch)
    loss_b, saved_b, grads_b = _loss_and_grads(cp, x, ds)
    # every layer of both stacks ran under checkpoint, and autograd kept
    # far fewer tensors (the layers' insides are recomputed in backward)
    assert calls == list(cp.backbone.layers) + list(cp.neck.layers)
    assert saved_b < saved_a / 3, (saved_a, saved_b)
    assert torch.equal(loss_a, loss_b)
    assert grads_a.keys() == grads_b.keys() and len(grads_a) > 10
    for name, g in grads_a.items():
        torch.testing.assert_close(
            grads_b[name], g, rtol=0, atol=1e-7, msg=name)
    # not in eval / no_grad: nothing to recompute
    cp.eval()
    with torch.no_grad():
        cp.loss(x, ds)
    assert len(calls) == 6


def test_encoder_checkpointing_downstream(monkeypatch):
    torch.manual_seed(0)
    kw = dict(
        arch=dict(
            embed_dims=48, num_layers=3, num_heads=3, feedforward_channels=96),
        img_size=32,
        patch_size=8,
        num_proxy_tokens=2,
        out_type='avg_featmap')
    plain = SemanticMIMViT(**kw)
    plain.init_weights()
    cp = SemanticMIMViT(with_cp=True, **kw)
    cp.load_state_dict(plain.state_dict())
    calls = _count_checkpoints(monkeypatch)
    x = torch.randn(2, 3, 32, 32)
    grads, saved = [], []
    for m in (plain, cp):
        m.train()
        out, n = _saved_tensors(lambda: m(x)[-1].pow(2).sum())
        out.backward()
        saved.append(n)
        grads.append({n: p.grad for n, p in m.named_parameters()})
    assert calls == list(cp.layers) and saved[1] < saved[0] / 3
    for name, g in grads[0].items():
        torch.testing.assert_close(
            grads[1][name], g, rtol=0, atol=1e-7, msg=name)
