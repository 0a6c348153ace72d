"""Attention distance and entropy on patterns whose answer is known."""
import math

import pytest
import torch

from mmsemanticmim.analysis import (attention_distance, attention_entropy,
                                    attention_statistics, patch_distances,
                                    proxy_attention_share)


def _with_prefix(patch_attn: torch.Tensor, num_prefix: int,
                 prefix_share: float) -> torch.Tensor:
    """(T, T) attention: patch queries give ``prefix_share`` evenly to the
    prefix keys and the rest as ``patch_attn``; prefix rows uniform."""
    n = patch_attn.shape[0]
    t = num_prefix + n
    attn = torch.full((t, t), 1. / t)
    attn[num_prefix:, :num_prefix] = prefix_share / max(num_prefix, 1)
    attn[num_prefix:, num_prefix:] = patch_attn * (1 - prefix_share)
    return attn


def test_patch_distances():
    d = patch_distances((2, 3))
    assert d.shape == (6, 6)
    assert d[0, 5] == pytest.approx(math.sqrt(1 + 4))  # (0,0) -> (1,2)
    assert torch.equal(d, d.T) and torch.all(d.diag() == 0)


@pytest.mark.parametrize('num_prefix,share', [(0, 0.), (4, 0.3)])
def test_uniform_attention(num_prefix, share):
    hw = (8, 6)
    n = 48
    attn = _with_prefix(torch.full((n, n), 1. / n), num_prefix, share)
    assert attention_distance(attn, hw, num_prefix) == pytest.approx(
        float(patch_distances(hw).mean()), rel=1e-5)
    assert attention_entropy(attn, hw, num_prefix) == pytest.approx(
        math.log(n), rel=1e-5)
    if num_prefix:
        assert proxy_attention_share(attn, hw, num_prefix) == \
            pytest.approx(share, rel=1e-5)


def test_identity_attention():
    hw = (5, 5)
    attn = _with_prefix(torch.eye(25), 2, 0.5)
    assert attention_distance(attn, hw, 2) == pytest.approx(0., abs=1e-6)
    assert attention_entropy(attn, hw, 2) == pytest.approx(0., abs=1e-5)


@pytest.mark.parametrize('dr,dc,expected', [(0, 3, 3.), (4, 0, 4.),
                                            (4, 3, 5.)])
def test_fixed_offset_attention(dr, dc, expected):
    """On an 8 x 6 grid, query (r, c) attends only to ((r + dr) % 8,
    (c + dc) % 6): with half-grid offsets every key is exactly (dr, dc)
    away, wrapped or not."""
    h, w = 8, 6
    attn = torch.zeros(h * w, h * w)
    for r in range(h):
        for c in range(w):
            attn[r * w + c, ((r + dr) % h) * w + (c + dc) % w] = 1
    assert attention_distance(attn, (h, w)) == pytest.approx(expected)
    assert attention_entropy(attn, (h, w)) == pytest.approx(0., abs=1e-5)


def test_two_neighbours_entropy_and_batch_shapes():
    """Half on itself, half on the right neighbour (wrapping to the row's
    start from the last column): entropy log 2; distance 1 except the
    wrapped column. Leading (layer, batch, head) dims are kept."""
    h, w = 4, 4
    attn = torch.zeros(h * w, h * w)
    for r in range(h):
        for c in range(w):
            attn[r * w + c, r * w + c] = 0.5
            attn[r * w + c, r * w + (c + 1) % w] = 0.5
    stacked = attn.expand(2, 3, 5, h * w, h * w)
    ent = attention_entropy(stacked, (h, w))
    dist = attention_distance(stacked, (h, w))
    assert ent.shape == dist.shape == (2, 3, 5)
    assert torch.allclose(ent, torch.tensor(math.log(2)))
    # 12 queries at distance 0.5 * 1, 4 wrapped at 0.5 * 3
    assert torch.allclose(dist, torch.tensor((12 * 0.5 + 4 * 1.5) / 16))


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match='4 prefix tokens and a 8x8'):
        attention_distance(torch.rand(64, 64), (8, 8), num_prefix=4)


def test_statistics_of_an_encoder_match_its_maps(pretrain_checkpoint):
    """Per layer and head, from the maps the visualisation draws; the head
    averages are taken of the per-head figures."""
    from mmsemanticmim.models import SemanticMIMViT
    enc = SemanticMIMViT.from_checkpoint(
        pretrain_checkpoint, out_type='raw').eval()
    torch.manual_seed(0)
    x = torch.randn(5, 3, 32, 32)
    stats = attention_statistics(enc, x, batch_size=2)
    assert stats['distance'].shape == (4, 3)  # layers x heads
    assert stats['entropy'].shape == stats['proxy_share'].shape == (4, 3)
    assert stats['hw'].tolist() == [8, 8]
    maps = enc.attention_maps(x, per_head=True)
    assert maps[2].shape == (5, 3, 68, 68)
    torch.testing.assert_close(maps[2].mean(1), enc.attention_maps(x)[2])
    expected = attention_distance(maps[2], (8, 8), 4).mean(0)
    torch.testing.assert_close(stats['distance'][2], expected)
    # real maps lie between attending to oneself and uniform attention
    assert (stats['entropy'] > 0).all()
    assert (stats['entropy'] <= math.log(64) + 1e-4).all()
    assert ((stats['proxy_share'] > 0) & (stats['proxy_share'] < 1)).all()
