"""Exact conversion between ``SemanticMIMViT`` weights and timm's
``VisionTransformer``.

timm represents the encoder without approximation: ``class_token=False``,
``reg_tokens=Np`` and ``no_embed_class=False`` give [PROXY; patches] with a
position slot per proxy (proxies first, as ours); ``global_pool='avg'``
leaves the prefix tokens out of pooling (as ours); ``init_values`` gives the
layer scale, and BEiT's q/v-only bias is a qkv bias whose key part is zero.
The final norm goes to ``norm`` (ours ``ln1``, on every token) or to
``fc_norm`` (ours ``ln2``, after pooling); timm has room for only one of them.

Written here: timm converts many checkpoint formats but not mmpretrain's
ViT layout with prefix tokens, and mmpretrain has no timm exporter.
"""
import math
from typing import Dict, Optional, Sequence, Tuple

import torch
from mmpretrain.models.utils import resize_pos_embed

from mmsemanticmim.utils.image_norm import (IMAGENET_MEAN_UNIT,
                                            IMAGENET_STD_UNIT)
from .encoder_meta import EncoderMeta

#: timm entry point named in the exported arguments; every architecture
#: argument is overridden, so its own defaults do not matter.
TIMM_MODEL_NAME = 'vit_base_patch16_224'

# (ours, timm), per transformer layer; the qkv bias is handled apart.
_LAYER_KEYS = (
    ('ln1.weight', 'norm1.weight'),
    ('ln1.bias', 'norm1.bias'),
    ('attn.qkv.weight', 'attn.qkv.weight'),
    ('attn.proj.weight', 'attn.proj.weight'),
    ('attn.proj.bias', 'attn.proj.bias'),
    ('ln2.weight', 'norm2.weight'),
    ('ln2.bias', 'norm2.bias'),
    ('ffn.layers.0.0.weight', 'mlp.fc1.weight'),
    ('ffn.layers.0.0.bias', 'mlp.fc1.bias'),
    ('ffn.layers.1.weight', 'mlp.fc2.weight'),
    ('ffn.layers.1.bias', 'mlp.fc2.bias'),
    ('gamma_1', 'ls1.gamma'),
    ('gamma_2', 'ls2.gamma'),
)
_STEM_KEYS = (
    ('patch_embed.projection.weight', 'patch_embed.proj.weight'),
    ('patch_embed.projection.bias', 'patch_embed.proj.bias'),
    ('proxy_tokens', 'reg_token'),
    ('pos_embed', 'pos_embed'),
    ('ln1.weight', 'norm.weight'),
    ('ln1.bias', 'norm.bias'),
    ('ln2.weight', 'fc_norm.weight'),
    ('ln2.bias', 'fc_norm.bias'),
)


class ConversionError(ValueError):
    """A checkpoint that the other side cannot represent exactly."""


def _mlp_ratio(embed_dims: int, ffn: int) -> float:
    ratio = ffn / embed_dims
    if int(embed_dims * ratio) != ffn:  # timm: int(dim * mlp_ratio)
        raise ConversionError(
            f'FFN width {ffn} is not int({embed_dims} * mlp_ratio) for any '
            'float timm could be given.')
    return ratio


def encoder_to_timm(
    state: Dict[str, torch.Tensor],
    meta: EncoderMeta,
    img_size: Optional[Sequence[int]] = None,
    drop_pooling_norm: bool = False,
    head: Optional[Dict[str, torch.Tensor]] = None,
    source: str = 'checkpoint',
) -> Tuple[Dict[str, torch.Tensor], dict]:
    """Our encoder's weights as a timm ``VisionTransformer`` state dict.

    Args:
        state (dict): Encoder weights, no prefix (``mask_token`` allowed and
            dropped: it belongs to the reconstruction side).
        meta (EncoderMeta): The encoder's meta.
        img_size (Sequence[int], optional): (H, W) the timm model is built
            for; the position embedding is resized with the encoder's own
            runtime resizing, so timm at this size equals ours at this size.
            Defaults to the checkpoint's size.
        drop_pooling_norm (bool): The encoder has both ``ln1`` and ``ln2``;
            keep ``ln1`` as timm's ``norm`` and drop ``ln2``.
        head (dict, optional): ``{'weight', 'bias'}`` of a linear classifier
            on the pooled feature (mmpretrain's ``head.layers.head``).
        source (str): Name for error messages.

    Returns:
        tuple[dict, dict]: timm state dict, and ``timm.create_model`` keyword
        arguments.
    """
    state = dict(state)
    state.pop('mask_token', None)
    D, L = meta.embed_dims, meta.num_layers
    Np = meta.num_proxy_tokens
    has_ln1, has_ln2 = 'ln1.weight' in state, 'ln2.weight' in state
    if has_ln1 and has_ln2:
        if not drop_pooling_norm:
            raise ConversionError(
                f'{source} has both a final norm (ln1) and a pooling norm '
                "(ln2); timm's VisionTransformer holds one. Pass "
                '--drop-pooling-norm to keep ln1 (token features stay '
                'exact, pooled ones lose ln2).')
        if head is not None:
            raise ConversionError(
                f'{source}: its classifier was trained on features after '
                'ln2; dropping ln2 would leave it on other features. '
                'Convert the encoder of an extracted checkpoint instead.')
        state.pop('ln2.weight')
        state.pop('ln2.bias')
        has_ln2 = False

    grid = [s // meta.patch_size for s in meta.img_size]
    size = list(img_size) if img_size is not None else list(meta.img_size)
    if any(s % meta.patch_size for s in size):
        raise ConversionError(f'img_size {size} is not a multiple of the '
                              f"patch size {meta.patch_size}.")
    new_grid = [s // meta.patch_size for s in size]
    if new_grid != grid:
        state['pos_embed'] = resize_pos_embed(state['pos_embed'], grid,
                                              new_grid, 'bicubic', Np)

    out = {}
    for ours, theirs in _STEM_KEYS:
        if ours in state:
            out[theirs] = state.pop(ours)
    if Np == 0:
        out.pop('reg_token', None)
    for i in range(L):
        p, t = f'layers.{i}.', f'blocks.{i}.'
        for ours, theirs in _LAYER_KEYS:
            if p + ours in state:
                out[t + theirs] = state.pop(p + ours)
        if p + 'attn.q_bias' in state:
            q = state.pop(p + 'attn.q_bias')
            v = state.pop(p + 'attn.v_bias')
            out[t + 'attn.qkv.bias'] = torch.cat((q, torch.zeros_like(v), v))
        elif p + 'attn.qkv.bias' in state:
            out[t + 'attn.qkv.bias'] = state.pop(p + 'attn.qkv.bias')
    if state:
        raise ConversionError(
            f'{source}: no timm counterpart for {sorted(state)[:8]}; nothing '
            'written.')
    num_classes = 0
    if head is not None:
        out['head.weight'], out['head.bias'] = head['weight'], head['bias']
        num_classes = int(head['weight'].shape[0])

    args = dict(
        img_size=size,
        patch_size=meta.patch_size,
        embed_dim=D,
        depth=L,
        num_heads=meta.require_heads(source),
        mlp_ratio=_mlp_ratio(D, meta.feedforward_channels),
        qkv_bias=True,
        init_values=0.1 if meta.layer_scale else None,
        class_token=False,
        reg_tokens=Np,
        no_embed_class=False,
        global_pool='avg',
        fc_norm=has_ln2,
        final_norm=has_ln1 or has_ln2,
        num_classes=num_classes,
    )
    return {k: v.contiguous() for k, v in out.items()}, args


def pretrained_cfg(args: dict,
                   mean: Sequence[float] = IMAGENET_MEAN_UNIT,
                   std: Sequence[float] = IMAGENET_STD_UNIT) -> dict:
    """The ``pretrained_cfg_overlay`` (without ``file``) that makes timm load
    the converted weights strictly and preprocess as our configs do."""
    return dict(
        num_classes=args['num_classes'],
        input_size=[3, *args['img_size']],
        mean=list(mean),
        std=list(std),
        interpolation='bicubic',
        crop_pct=1.0,
        classifier='head',
        first_conv='patch_embed.proj')


def _square_side(n: int) -> Optional[int]:
    s = math.isqrt(n)
    return s if s * s == n else None


def timm_to_encoder(
    tstate: Dict[str, torch.Tensor],
    args: Optional[dict] = None,
    layer_type: Optional[str] = None,
    num_heads: Optional[int] = None,
    source: str = 'checkpoint',
) -> Tuple[Dict[str, torch.Tensor], dict, Optional[Dict[str, torch.Tensor]]]:
    """A timm ``VisionTransformer`` state dict as our encoder's weights.

    A class token and register tokens both become [PROXY] tokens (class
    token first, as in timm's sequence); with ``no_embed_class=True`` their
    position slots are zero, which adds nothing, as in timm.

    Args:
        tstate (dict): timm weights.
        args (dict, optional): The ``create_model`` arguments (from our
            exporter); None infers a plain timm ViT from the weights.
        layer_type (str, optional): ``'beit'`` splits the qkv bias into q/v
            biases (its key part must be zero). Defaults to ``'vit'``.
        num_heads (int, optional): Heads leave no trace in the weights:
            this, else ``args``; neither raises :class:`ConversionError`.
        source (str): Name for error messages.

    Returns:
        tuple: encoder state dict (no prefix), its meta, and the classifier
        ``{'weight', 'bias'}`` or None.
    """
    t = dict(tstate)
    args = dict(args or {})
    unsupported = [
        k for k in t
        if k.startswith(('norm_pre.', 'attn_pool.', 'patch_embed.norm.'))
        or '.q_norm.' in k or '.k_norm.' in k or '.attn.norm.' in k
        or '.mlp.norm.' in k or 'fc1_g' in k or 'fc1_x' in k
    ]
    if unsupported:
        raise ConversionError(
            f'{source}: {unsupported[:4]} (pre-norm, qk-norm, attention '
            'pooling, SwiGLU...) have no counterpart in SemanticMIMViT.')
    if 'patch_embed.proj.weight' not in t or 'pos_embed' not in t or \
            'blocks.0.attn.qkv.weight' not in t:
        raise ConversionError(
            f'{source} is not a timm VisionTransformer state dict (needs '
            'patch_embed.proj.weight, pos_embed, blocks.0.attn.qkv.weight).')
    layer_type = layer_type or 'vit'
    D = int(t['pos_embed'].shape[-1])
    patch = int(t['patch_embed.proj.weight'].shape[-1])

    prefix = [t.pop(k) for k in ('cls_token', 'reg_token') if k in t]
    proxies = torch.cat(prefix, dim=1) if prefix else torch.zeros(1, 0, D)
    Np = proxies.shape[1]
    pos = t.pop('pos_embed')
    if 'img_size' in args:
        h, w = (args['img_size'], ) * 2 if isinstance(
            args['img_size'], int) else args['img_size']
        grid = [h // patch, w // patch]
        no_embed = pos.shape[1] == grid[0] * grid[1]
    else:
        side = _square_side(pos.shape[1] - Np)
        no_embed = side is None
        side = side or _square_side(pos.shape[1])
        if side is None:
            raise ConversionError(
                f'{source}: pos_embed of {pos.shape[1]} slots is not a '
                'square grid (with or without the prefix tokens); give the '
                'timm arguments (img_size) in a json.')
        grid = [side, side]
    if no_embed:
        pos = torch.cat((pos.new_zeros(1, Np, D), pos), dim=1)
    if pos.shape[1] != Np + grid[0] * grid[1]:
        raise ConversionError(
            f'{source}: pos_embed has {pos.shape[1]} slots, expected '
            f'{Np} prefix + {grid[0]}x{grid[1]} patches.')

    state = {'proxy_tokens': proxies, 'pos_embed': pos}
    for ours, theirs in _STEM_KEYS:
        if theirs in t and ours not in state:
            state[ours] = t.pop(theirs)
    if 'patch_embed.projection.bias' not in state:  # pre-norm style stem
        state['patch_embed.projection.bias'] = torch.zeros(D)
    L = 1 + max(int(k.split('.')[1]) for k in t if k.startswith('blocks.'))
    for i in range(L):
        p, b = f'layers.{i}.', f'blocks.{i}.'
        for ours, theirs in _LAYER_KEYS:
            if b + theirs in t:
                state[p + ours] = t.pop(b + theirs)
        bias = t.pop(b + 'attn.qkv.bias', None)
        if bias is None:
            bias = torch.zeros(3 * D)
        if layer_type == 'beit':
            q, k, v = bias.chunk(3)
            if k.abs().max() > 0:
                raise ConversionError(
                    f'{source}: layer {i} has a nonzero key bias, which '
                    "BEiT layers do not have: convert with layer_type='vit'.")
            state[p + 'attn.q_bias'], state[p + 'attn.v_bias'] = q, v
        else:
            state[p + 'attn.qkv.bias'] = bias
    head = None
    if 'head.weight' in t:
        head = dict(weight=t.pop('head.weight'), bias=t.pop('head.bias'))
    if t:
        raise ConversionError(
            f'{source}: no SemanticMIMViT counterpart for {sorted(t)[:8]}; '
            'nothing written.')
    meta = EncoderMeta.from_state(state)
    meta.layer_type = layer_type
    heads = num_heads or args.get('num_heads')
    if heads is None:
        raise ConversionError(
            f'{source} does not say its number of attention heads (they '
            'leave no trace in the weights): give it with --num-heads N '
            f'(timm\'s vit_base has 12 for width 768). Nothing written.')
    meta.num_heads = int(heads)
    if D % meta.num_heads:
        raise ConversionError(
            f'{source}: {meta.num_heads} heads do not divide the width {D}; '
            'give the head count (--num-heads).')
    meta.img_size = [g * patch for g in grid]
    return state, meta, head
