"""What the encoder and the reconstruction stack share: the arch setting,
the weight init of their layers and when a layer is checkpointed."""
from typing import Union

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models.backbones import VisionTransformer

from mmsemanticmim.checkpoint.encoder_meta import ARCH_KEYS


def parse_arch(arch: Union[str, dict]) -> dict:
    """An arch name of mmpretrain's ``VisionTransformer`` ('small', 'base',
    'deit-tiny', ...) or a custom dict, as a dict of :data:`ARCH_KEYS`.

    Raises:
        ValueError: An unknown name, or a dict without those keys.
    """
    zoo = VisionTransformer.arch_zoo
    if isinstance(arch, str):
        if arch.lower() not in zoo:
            raise ValueError(f'Unknown arch {arch!r}; choose from '
                             f'{sorted(set(zoo))} or pass a dict.')
        return dict(zoo[arch.lower()])
    if not isinstance(arch, dict) or not set(ARCH_KEYS) <= set(arch):
        raise ValueError(f'A custom arch must be a dict with keys '
                         f'{sorted(ARCH_KEYS)}, got {arch!r}')
    return dict(arch)


def init_linear_and_norm(m: nn.Module) -> None:
    """ViT init of one module: truncated normal (std 0.02) linear and conv
    weights with zero bias, unit LayerNorm."""
    if isinstance(m, (nn.Linear, nn.Conv2d)):
        trunc_normal_(m.weight, std=.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)


def run_layer(layer: nn.Module,
              x: torch.Tensor,
              *args,
              checkpoint: bool = False) -> torch.Tensor:
    """``layer(x, *args)``, with activation checkpointing when asked for
    and a backward can follow (recomputed in backward: same numbers, less
    memory)."""
    if checkpoint and torch.is_grad_enabled():
        return cp.checkpoint(layer, x, *args, use_reentrant=False)
    return layer(x, *args)
