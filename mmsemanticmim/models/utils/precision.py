"""Targets in fp32 whatever the autocast state."""
import functools

import torch


def fp32_targets(forward):
    """Decorate a target generator's ``forward(x)``: autocast off on ``x``'s
    device, ``x`` as fp32, no gradients.

    Targets are labels, not activations: under bf16/fp16 autocast HOG's
    convolutions would round the histograms (and mmpretrain's HOG scatter
    fails on mixed dtypes), DALL-E's argmax could pick other tokens.
    """

    @functools.wraps(forward)
    def wrapper(self, x: torch.Tensor, *args, **kwargs):
        with torch.no_grad(), torch.autocast(x.device.type, enabled=False):
            return forward(self, x.float(), *args, **kwargs)

    return wrapper
