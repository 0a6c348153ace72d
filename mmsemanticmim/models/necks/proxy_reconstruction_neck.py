"""SemanticMIM's reconstruction stack: [MASK] queries that see only proxies."""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmsemanticmim.registry import MODELS
from ..utils import (ProxyTransformerLayer, check_layer_type,
                     init_linear_and_norm, parse_arch, run_layer)


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
            In a :class:`SemanticMIM` model, None (or left out) takes the
            backbone's; a standalone stack needs it.
        layer_type (str, optional): ``'vit'`` or ``'beit'``, as the encoder
            (None: the backbone's in a SemanticMIM model, else 'vit').
        layer_scale_init_value (float, optional): As the encoder (None: the
            backbone's in a SemanticMIM model, else 0).
        drop_rate (float): Dropout in the layers.
        drop_path_rate (float): Stochastic depth, linear over the layers (the
            encoder's schedule).
        norm_cfg (dict): Norm layers.
        with_cp (bool): Activation checkpointing of each layer in training
            (recomputed in backward; same numbers, less memory).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 arch: Union[str, dict, None] = None,
                 layer_type: Optional[str] = None,
                 layer_scale_init_value: Optional[float] = None,
                 drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.with_cp = with_cp
        if arch is None:
            raise ValueError(
                'ProxyReconstructionNeck needs arch (the encoder\'s); inside '
                'a SemanticMIM model it is taken from the backbone.')
        arch = parse_arch(arch)
        layer_type = 'vit' if layer_type is None else layer_type
        layer_scale_init_value = layer_scale_init_value or 0.
        check_layer_type(layer_type, 'model.neck.layer_type')
        self.layer_type = layer_type
        self.num_layers = arch['num_layers']
        # on the CPU whatever the default device (a model built on 'meta')
        dpr = torch.linspace(
            0, drop_path_rate, self.num_layers, device='cpu').tolist()
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
        for m in self.modules():  # pre-order, as the encoder's apply is not
            init_linear_and_norm(m)
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
        checkpoint = self.with_cp and self.training
        for layer, proxies in zip(self.layers, proxy_states):
            mask_tokens = run_layer(
                layer, mask_tokens, proxies, checkpoint=checkpoint)
        return mask_tokens
