"""SemanticMIM's reconstruction stack: [MASK] queries that see only proxies."""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models.backbones import VisionTransformer

from mmsemanticmim.registry import MODELS
from ..utils import LAYER_TYPES, ProxyTransformerLayer


@MODELS.register_module()
class ProxyReconstructionNeck(BaseModule):
    """One cross-attention layer per encoder layer, run after the encoder.

    Layer l updates the [MASK] tokens with attention whose keys/values are
    ``[P_l; M_(l-1)]``: the proxies after encoder layer l and the [MASK]
    tokens themselves, never an image token. Because the proxies never see
    [MASK], running this stack after the encoder on the saved proxy states
    gives the same numbers as the paper's lockstep forward. Discarded after
    pre-training.

    Args:
        arch (str | dict): As the encoder's (width, depth, heads, FFN width).
        layer_type (str): ``'vit'`` or ``'beit'``, as the encoder.
        layer_scale_init_value (float): As the encoder.
        drop_rate (float): Dropout in the layers.
        drop_path_rate (float): Stochastic depth, linear over the layers (the
            encoder's schedule).
        norm_cfg (dict): Norm layers.
        with_cp (bool): Activation checkpointing of each layer in training
            (recomputed in backward; same numbers, less memory).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'base',
                 layer_type: str = 'vit',
                 layer_scale_init_value: float = 0.,
                 drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.with_cp = with_cp
        if isinstance(arch, str):
            if arch.lower() not in VisionTransformer.arch_zoo:
                raise ValueError(f'Unknown arch {arch!r}')
            arch = VisionTransformer.arch_zoo[arch.lower()]
        if layer_type not in LAYER_TYPES:
            raise ValueError(f'layer_type must be one of {LAYER_TYPES}, got '
                             f'{layer_type!r}')
        self.layer_type = layer_type
        self.num_layers = arch['num_layers']
        dpr = torch.linspace(0, drop_path_rate, self.num_layers).tolist()
        self.layers = nn.ModuleList([
            ProxyTransformerLayer(
                embed_dims=arch['embed_dims'],
                num_heads=arch['num_heads'],
                feedforward_channels=arch['feedforward_channels'],
                layer_type=layer_type,
                layer_scale_init_value=layer_scale_init_value,
                drop_rate=drop_rate,
                drop_path_rate=dpr[i],
                norm_cfg=norm_cfg) for i in range(self.num_layers)
        ])

    def init_weights(self) -> None:
        super().init_weights()
        if self.init_cfg is not None:
            return
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if self.layer_type == 'beit':
            for i, layer in enumerate(self.layers):
                layer.rescale_init(i + 1)

    def forward(self, proxy_states: Sequence[torch.Tensor],
                mask_tokens: torch.Tensor) -> torch.Tensor:
        """Args:
            proxy_states (Sequence[Tensor]): The proxies after each encoder
                layer, one (B, Np, D) tensor per layer of this stack.
            mask_tokens (Tensor): (B, K, D) [MASK] queries.

        Returns:
            Tensor: (B, K, D) reconstructed tokens (not normalised).
        """
        if len(proxy_states) != self.num_layers:
            raise ValueError(
                f'The reconstruction stack has {self.num_layers} layers but '
                f'got {len(proxy_states)} proxy states: give the neck the '
                'same arch as the backbone.')
        checkpoint = self.with_cp and self.training and torch.is_grad_enabled()
        for layer, proxies in zip(self.layers, proxy_states):
            if checkpoint:
                mask_tokens = cp.checkpoint(
                    layer, mask_tokens, proxies, use_reentrant=False)
            else:
                mask_tokens = layer(mask_tokens, prefix=proxies)
        return mask_tokens
