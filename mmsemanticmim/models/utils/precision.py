"""Targets in fp32 whatever the autocast state."""
import functools
from typing import Callable

import torch


def in_fp32(fn: Callable, x: torch.Tensor, *args, **kwargs):
    """``fn(x.float(), ...)`` with autocast off on ``x``'s device and no
    gradients: how every target is computed."""
    with torch.no_grad(), torch.autocast(x.device.type, enabled=False):
        return fn(x.float(), *args, **kwargs)


def fp32_targets(forward):
    """Decorate a target generator's ``forward(x)``: autocast off on ``x``'s
    device, ``x`` as fp32, no gradients.

    Targets are labels, not activations: under bf16/fp16 autocast HOG's
    convolutions would round the histograms (and mmpretrain's HOG scatter
    fails on mixed dtypes), DALL-E's argmax could pick other tokens.
    """

    @functools.wraps(forward)
    def wrapper(self, x: torch.Tensor, *args, **kwargs):
        return in_fp32(functools.partial(forward, self), x, *args, **kwargs)

    return wrapper
