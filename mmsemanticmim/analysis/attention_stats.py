"""Attention in numbers: how far, and how spread, patch queries attend.

The paper's Figure 1 claims that with the [PROXY] bottleneck a patch query
attends over its whole semantic region instead of its neighbourhood. Two
per-layer numbers quantify it, both over the attention of patch queries to
patch keys (the weights a query gives the proxies are renormalised away, and
reported apart as the proxy share):

* mean attention distance (Dosovitskiy et al., ViT, Fig. 7; Raghu et al.
  2021): the attention-weighted Euclidean distance between query and key
  patches, in patches, averaged over queries;
* attention entropy: the Shannon entropy (nats) of a query's distribution
  over the patches, averaged over queries; log(N) is uniform attention over
  the N patches, 0 attention on one patch.

Both are computed per head from :meth:`SemanticMIMViT.attention_maps`, the
maps the visualisation draws; the head-averaged figure is the mean of the
per-head figures. Written here: neither mmpretrain nor timm has them.
"""
import math
from typing import Dict, Sequence, Tuple

import torch


def patch_distances(hw: Sequence[int]) -> torch.Tensor:
    """(N, N) Euclidean distances, in patches, between the cells of an
    ``h x w`` grid in row-major order."""
    h, w = hw
    rows, cols = torch.meshgrid(
        torch.arange(h), torch.arange(w), indexing='ij')
    coords = torch.stack((rows.flatten(), cols.flatten()), 1).float()
    return torch.cdist(coords, coords)


def _patch_rows(attn: torch.Tensor, num_prefix: int,
                hw: Sequence[int]) -> Tuple[torch.Tensor, torch.Tensor]:
    """Patch queries' weights over patch keys, renormalised, and the share
    they give the prefix (proxy) keys."""
    n = hw[0] * hw[1]
    if attn.shape[-1] != num_prefix + n or attn.shape[-2] != num_prefix + n:
        raise ValueError(
            f'attention of shape {tuple(attn.shape)} does not fit '
            f'{num_prefix} prefix tokens and a {hw[0]}x{hw[1]} patch grid')
    rows = attn[..., num_prefix:, :].float()
    to_patches = rows[..., num_prefix:]
    mass = to_patches.sum(-1, keepdim=True)
    return to_patches / mass.clamp_min(1e-12), 1 - mass.squeeze(-1)


def attention_distance(attn: torch.Tensor,
                       hw: Sequence[int],
                       num_prefix: int = 0) -> torch.Tensor:
    """Mean attention distance of the patch queries, in patches.

    Args:
        attn (Tensor): (..., T, T) softmax attention, rows are queries,
            ``T = num_prefix + h * w`` with the prefix tokens first.
        hw (Sequence[int]): The patch grid (h, w).
        num_prefix (int): Prefix (proxy) tokens before the patches.

    Returns:
        Tensor: (...) the distance averaged over the patch queries.
    """
    rows, _ = _patch_rows(attn, num_prefix, hw)
    dist = patch_distances(hw).to(rows.device)
    return (rows * dist).sum(-1).mean(-1)


def attention_entropy(attn: torch.Tensor,
                      hw: Sequence[int],
                      num_prefix: int = 0) -> torch.Tensor:
    """Entropy (nats) of the patch queries' attention over the patches.

    Args and shapes as :func:`attention_distance`.
    """
    rows, _ = _patch_rows(attn, num_prefix, hw)
    return -(rows * rows.clamp_min(1e-30).log()).sum(-1).mean(-1)


def proxy_attention_share(attn: torch.Tensor, hw: Sequence[int],
                          num_prefix: int) -> torch.Tensor:
    """Share (0-1) of the patch queries' attention on the prefix tokens.

    Args and shapes as :func:`attention_distance`.
    """
    return _patch_rows(attn, num_prefix, hw)[1].mean(-1)


@torch.no_grad()
def attention_statistics(encoder: torch.nn.Module,
                         images: torch.Tensor,
                         batch_size: int = 64) -> Dict[str, torch.Tensor]:
    """Per-layer, per-head attention statistics of an encoder.

    Args:
        encoder (SemanticMIMViT): The encoder, in eval mode.
        images (Tensor): (B, C, H, W) normalised images (moved to the
            encoder's device a batch at a time).
        batch_size (int): Images per forward.

    Returns:
        dict[str, Tensor]: ``distance``, ``entropy`` and ``proxy_share``,
        each (layers, heads), averaged over the images; ``hw`` the grid.
    """
    np_ = encoder.num_proxy_tokens
    p = encoder.patch_size
    # the patch embedding pads a side that is not a multiple of the patch
    hw = (math.ceil(images.shape[-2] / p), math.ceil(images.shape[-1] / p))
    device = next(encoder.parameters()).device
    totals = {}
    for start in range(0, images.shape[0], batch_size):
        batch = images[start:start + batch_size].to(device)
        maps = torch.stack(encoder.attention_maps(batch, per_head=True))
        # maps: (layers, B, heads, T, T) -> sums over the images
        stats = dict(
            distance=attention_distance(maps, hw, np_),
            entropy=attention_entropy(maps, hw, np_),
            proxy_share=proxy_attention_share(maps, hw, np_))
        for key, value in stats.items():
            totals[key] = totals.get(key, 0) + value.sum(1).cpu()
    out = {key: value / images.shape[0] for key, value in totals.items()}
    out['hw'] = torch.tensor(hw)
    return out
