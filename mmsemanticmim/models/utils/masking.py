"""Turning per-patch masks into gather indices, without host-side loops."""
from typing import Tuple

import torch


def mask_to_indices(mask: torch.Tensor,
                    name: str = 'mask') -> Tuple[torch.Tensor, torch.Tensor]:
    """Split patch positions into kept and selected ones.

    Args:
        mask (Tensor): (B, H, W) or (B, N); nonzero marks a selected patch.
        name (str): What the mask is, for the error message.

    Returns:
        tuple[Tensor, Tensor]: ``(unselected, selected)`` long indices,
        (B, N - K) and (B, K), each in ascending patch order.

    Raises:
        ValueError: If the samples select different numbers of patches (a
            ragged batch cannot be gathered into one tensor).
    """
    mask = mask.flatten(1).bool()
    counts = mask.sum(1)
    lo, hi = torch.aminmax(counts)
    lo, hi = int(lo), int(hi)
    if lo != hi:
        raise ValueError(
            f'Every sample of a batch must have the same number of patches '
            f'in its {name}, but this batch has between {lo} and {hi} (of '
            f'{mask.shape[1]}). Generate masks with SemanticMIMMaskGenerator, '
            'which masks exactly ceil(N * mask_ratio) patches per image.')
    # A stable sort puts unselected (0) before selected (1), each in order.
    order = torch.sort(mask.to(torch.uint8), dim=1, stable=True).indices
    return order[:, :mask.shape[1] - lo], order[:, mask.shape[1] - lo:]


def gather_tokens(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Pick tokens along dim 1: (B, N, ...) and (B, K) -> (B, K, ...)."""
    view = index.reshape(*index.shape, *([1] * (x.dim() - 2)))
    return torch.gather(x, 1, view.expand(-1, -1, *x.shape[2:]))
