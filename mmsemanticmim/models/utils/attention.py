"""Attention whose first tokens only give keys and values, on fused SDPA.

Written here because no OpenMMLab layer offers both: mmpretrain's
``MultiheadAttention`` is fused but self-attention only, and its
``BEiTAttention`` / ``CrossMultiheadAttention`` compute softmax by hand.
Parameter names follow mmpretrain (``qkv``, ``q_bias``/``v_bias``, ``proj``)
so that mmpretrain ViT / BEiT weights load unchanged.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmsemanticmim.utils.torch_features import scaled_dot_product_attention

QKV_BIAS_MODES = ('qkv', 'qv', 'none')


class PrefixAttention(BaseModule):
    """Multi-head attention of ``x`` over ``[prefix; x]`` (or ``x`` alone).

    Args:
        embed_dims (int): Token width.
        num_heads (int): Number of heads.
        qkv_bias (str): ``'qkv'``: one bias on q, k and v (ViT);
            ``'qv'``: learnable q and v biases, none on k (BEiT);
            ``'none'``: no bias.
        attn_drop (float): Dropout on attention weights. Defaults to 0.
        proj_drop (float): Dropout after the output projection.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 qkv_bias: str = 'qkv',
                 attn_drop: float = 0.,
                 proj_drop: float = 0.,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if qkv_bias not in QKV_BIAS_MODES:
            raise ValueError(f'qkv_bias must be one of {QKV_BIAS_MODES}, got '
                             f'{qkv_bias!r}')
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims ({embed_dims}) must be divisible by '
                             f'num_heads ({num_heads})')
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.head_dims = embed_dims // num_heads
        self.qkv = nn.Linear(
            embed_dims, embed_dims * 3, bias=qkv_bias == 'qkv')
        if qkv_bias == 'qv':
            self.q_bias = nn.Parameter(torch.zeros(embed_dims))
            self.v_bias = nn.Parameter(torch.zeros(embed_dims))
        else:
            self.q_bias = self.v_bias = None
        self.attn_drop = attn_drop
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)

    def _qkv_bias(self) -> Optional[torch.Tensor]:
        if self.q_bias is None:
            return self.qkv.bias
        return torch.cat(
            (self.q_bias, torch.zeros_like(self.v_bias), self.v_bias))

    def _heads(self, t: torch.Tensor) -> torch.Tensor:
        """(B, N, k*D) -> k tensors of (B, heads, N, head_dims)."""
        B, N, _ = t.shape
        return t.reshape(B, N, -1, self.num_heads,
                         self.head_dims).permute(2, 0, 3, 1, 4).unbind(0)

    def project(self, x: torch.Tensor, prefix: Optional[torch.Tensor] = None):
        """Queries of ``x`` and keys/values of ``[prefix; x]``, in heads.

        Both inputs are normalised already. The prefix goes through the same
        full projection (its few query rows are dropped): cheaper in backward
        than projecting it with a slice of the weight.
        """
        bias = self._qkv_bias()
        q, k, v = self._heads(F.linear(x, self.qkv.weight, bias))
        if prefix is not None:
            _, pk, pv = self._heads(F.linear(prefix, self.qkv.weight, bias))
            k = torch.cat((pk, k), dim=2)
            v = torch.cat((pv, v), dim=2)
        return q, k, v

    def forward(self,
                x: torch.Tensor,
                prefix: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Attend from every token of ``x`` to ``[prefix; x]``.

        Args:
            x (Tensor): Queries, (B, N, D), normalised.
            prefix (Tensor, optional): Tokens that only give keys and values,
                placed before ``x``, (B, P, D), normalised. None gives plain
                self-attention.

        Returns:
            Tensor: (B, N, D).
        """
        q, k, v = self.project(x, prefix)
        out = scaled_dot_product_attention(
            q, k, v, dropout_p=self.attn_drop if self.training else 0.)
        out = out.transpose(1, 2).flatten(2)
        return self.proj_drop(self.proj(out))

    @torch.no_grad()
    def attention_map(self,
                      x: torch.Tensor,
                      prefix: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Softmax attention weights, (B, heads, N, P + N), for analysis."""
        q, k, _ = self.project(x, prefix)
        return (q @ k.transpose(-2, -1) * self.head_dims**-0.5).softmax(-1)
