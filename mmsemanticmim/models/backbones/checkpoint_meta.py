"""What a SemanticMIM backbone checkpoint says about the encoder it holds."""
from typing import Dict, Optional

import torch

#: Key under ``checkpoint['meta']`` written by ``BackboneMetaHook`` and by
#: ``tools/model_converters/extract_backbone.py``.
META_KEY = 'semanticmim_backbone'


def strip_prefix(state: Dict[str, torch.Tensor],
                 prefix: Optional[str]) -> Dict[str, torch.Tensor]:
    """Keys under ``prefix`` (e.g. ``'backbone.'``) with the prefix removed."""
    if not prefix:
        return dict(state)
    prefix = prefix if prefix.endswith('.') else prefix + '.'
    return {k[len(prefix):]: v for k, v in state.items()
            if k.startswith(prefix)}


def infer_meta(state: Dict[str, torch.Tensor]) -> dict:
    """The encoder's settings read off its weights (for checkpoints that
    carry no meta, e.g. converted or hand-made ones)."""
    if 'proxy_tokens' not in state or 'pos_embed' not in state:
        raise KeyError('no proxy_tokens / pos_embed')
    num_layers = 1 + max(
        int(k.split('.')[1]) for k in state if k.startswith('layers.'))
    beit = 'layers.0.attn.q_bias' in state
    embed_dims = int(state['pos_embed'].shape[-1])
    num_proxy_tokens = int(state['proxy_tokens'].shape[1])
    patch_size = int(state['patch_embed.projection.weight'].shape[-1])
    side = round((state['pos_embed'].shape[1] - num_proxy_tokens)**0.5)
    return dict(
        num_proxy_tokens=num_proxy_tokens,
        layer_type='beit' if beit else 'vit',
        layer_scale='layers.0.gamma_1' in state,
        embed_dims=embed_dims,
        num_layers=num_layers,
        # heads leave no trace in the weights: ViT's 64-wide heads
        num_heads=max(1, embed_dims // 64),
        feedforward_channels=int(
            state['layers.0.ffn.layers.0.0.weight'].shape[0]),
        patch_size=patch_size,
        img_size=[side * patch_size] * 2,  # a square grid, if no meta says
    )


def read_meta(checkpoint: dict, state: Dict[str, torch.Tensor]) -> dict:
    """The meta the checkpoint carries, completed from its weights."""
    meta = infer_meta(state)
    saved = (checkpoint.get('meta') or {}).get(META_KEY) or {}
    meta.update(saved)
    meta['num_heads_inferred'] = 'num_heads' not in saved
    return meta


def guess_prefix(state: Dict[str, torch.Tensor]) -> Optional[str]:
    """``'backbone.'`` for a pre-training checkpoint, None for an encoder."""
    return 'backbone.' if 'backbone.pos_embed' in state else None
