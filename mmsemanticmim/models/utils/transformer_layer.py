"""The pre-norm transformer layer shared by the encoder and the
reconstruction stack."""
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn.bricks.drop import DropPath
from mmcv.cnn.bricks.transformer import FFN
from mmengine.model import BaseModule
from mmengine.registry import FUNCTIONS
from mmpretrain.models.backbones.vision_transformer import \
    TransformerEncoderLayer
from mmpretrain.models.utils import build_norm_layer

from .attention import PrefixAttention

LAYER_TYPES = ('vit', 'beit')


def check_layer_type(layer_type: str, key: str = 'layer_type') -> None:
    """Refuse a ``layer_type`` other than :data:`LAYER_TYPES`, naming the
    config ``key`` that set it."""
    if layer_type not in LAYER_TYPES:
        raise ValueError(f'{key} must be one of {LAYER_TYPES}, got '
                         f'{layer_type!r}')


class ProxyTransformerLayer(BaseModule):
    """One pre-norm transformer layer, optionally attending over a prefix.

    ``layer(x)`` is an ordinary self-attention layer (the encoder);
    ``layer(m, prefix=p)`` lets the queries ``m`` attend to ``[p; m]`` (the
    reconstruction stack: [MASK] over [PROXY; MASK]). Parameter names match
    mmpretrain's ``TransformerEncoderLayer`` (``layer_type='vit'``) and
    ``BEiTTransformerEncoderLayer`` (``layer_type='beit'``).

    Args:
        embed_dims (int): Token width.
        num_heads (int): Attention heads.
        feedforward_channels (int): Hidden width of the FFN.
        layer_type (str): ``'vit'`` (qkv bias) or ``'beit'`` (q/v bias).
        layer_scale_init_value (float): Initial value of the per-channel
            residual scales ``gamma_1``/``gamma_2``; 0 disables them.
        drop_rate (float): Dropout after attention projection and in the FFN.
        attn_drop_rate (float): Dropout on attention weights.
        drop_path_rate (float): Stochastic depth of both residual branches.
        act_cfg (dict): FFN activation.
        norm_cfg (dict): Norm layer.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 feedforward_channels: int,
                 layer_type: str = 'vit',
                 layer_scale_init_value: float = 0.,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 act_cfg: dict = dict(type='GELU'),
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        check_layer_type(layer_type)
        self.ln1 = build_norm_layer(norm_cfg, embed_dims)
        self.attn = PrefixAttention(
            embed_dims,
            num_heads,
            qkv_bias='qkv' if layer_type == 'vit' else 'qv',
            attn_drop=attn_drop_rate,
            proj_drop=drop_rate)
        self.ln2 = build_norm_layer(norm_cfg, embed_dims)
        self.ffn = FFN(
            embed_dims=embed_dims,
            feedforward_channels=feedforward_channels,
            num_fcs=2,
            ffn_drop=drop_rate,
            dropout_layer=None,
            act_cfg=act_cfg,
            add_identity=False)
        self.drop_path = DropPath(drop_path_rate) \
            if drop_path_rate > 0 else nn.Identity()
        if layer_scale_init_value > 0:
            self.gamma_1 = nn.Parameter(
                torch.full((embed_dims, ), float(layer_scale_init_value)))
            self.gamma_2 = nn.Parameter(
                torch.full((embed_dims, ), float(layer_scale_init_value)))
        else:
            self.gamma_1 = self.gamma_2 = None

    @property
    def norm1(self):
        return self.ln1

    @property
    def norm2(self):
        return self.ln2

    def _scale(self, x: torch.Tensor, gamma: Optional[nn.Parameter]):
        return x if gamma is None else x * gamma

    def forward(self,
                x: torch.Tensor,
                prefix: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Args:
            x (Tensor): (B, N, D) tokens; they are the queries.
            prefix (Tensor, optional): (B, P, D) tokens that are only keys and
                values, placed before ``x``; they are normalised with this
                layer's ``ln1`` like ``x``.
        """
        attn = self.attn(
            self.ln1(x), None if prefix is None else self.ln1(prefix))
        x = x + self.drop_path(self._scale(attn, self.gamma_1))
        x = x + self.drop_path(
            self._scale(self.ffn(self.ln2(x)), self.gamma_2))
        return x

    @torch.no_grad()
    def attention_map(self,
                      x: torch.Tensor,
                      prefix: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Attention weights of this layer's input ``x`` (see
        :meth:`PrefixAttention.attention_map`)."""
        return self.attn.attention_map(
            self.ln1(x), None if prefix is None else self.ln1(prefix))

    @torch.no_grad()
    def rescale_init(self, layer_id: int) -> None:
        """BEiT's depth-dependent init: divide the two output projections by
        sqrt(2 * layer_id) (layer_id counted from 1)."""
        self.attn.proj.weight.div_((2.0 * layer_id)**0.5)
        self.ffn.layers[1].weight.div_((2.0 * layer_id)**0.5)


def wrap_transformer_layers(module,
                            recurse: bool,
                            nonwrapped_numel: int = 0,
                            **kwargs) -> bool:
    """FSDP auto-wrap policy: one FSDP unit per transformer layer (of
    both stacks), so that only one layer's full parameters exist at a time;
    the rest (stem, heads, norms) stays in the root unit."""
    if recurse:
        return True
    return isinstance(module, (ProxyTransformerLayer, TransformerEncoderLayer))


# by this name, FSDP configs (strategy.model_wrapper.auto_wrap_policy)
FUNCTIONS.register_module(
    name='semanticmim_wrap_transformer_layers',
    module=wrap_transformer_layers,
    force=True)
