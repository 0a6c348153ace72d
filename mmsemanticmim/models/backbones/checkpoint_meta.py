"""What a SemanticMIM backbone checkpoint says about the encoder it holds."""
from typing import Dict, List, Optional

import torch

#: Key under ``checkpoint['meta']`` written by ``BackboneMetaHook`` and by
#: ``tools/model_converters/extract_backbone.py``.
META_KEY = 'semanticmim_backbone'


#: Every architecture field of the meta, and the config key that sets it.
META_CONFIG_KEYS = {
    'num_proxy_tokens': 'model.backbone.num_proxy_tokens',
    'layer_type': 'model.backbone.layer_type',
    'layer_scale': 'model.backbone.layer_scale_init_value',
    'embed_dims': 'model.backbone.arch',
    'num_layers': 'model.backbone.arch',
    'num_heads': 'model.backbone.arch',
    'feedforward_channels': 'model.backbone.arch',
    'patch_size': 'model.backbone.patch_size',
}


def meta_mismatches(saved: dict, built: dict) -> List[str]:
    """Where a checkpoint's encoder differs from the one a config builds.

    Args:
        saved (dict): The checkpoint's meta (:func:`read_meta`); a head count
            that was only inferred is not held against the config.
        built (dict): ``SemanticMIMViT.checkpoint_meta()`` of the model.

    Returns:
        list[str]: One line per differing field, naming the config key to
        change; empty when everything agrees.
    """
    out = []
    for key, field in META_CONFIG_KEYS.items():
        if key == 'num_heads' and saved.get('num_heads_inferred', False):
            continue
        if key in saved and key in built and saved[key] != built[key]:
            out.append(f'the checkpoint has {key}={saved[key]!r} but the '
                       f'config builds {key}={built[key]!r}: set {field} to '
                       'match')
    return out


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


#: Fields :func:`read_meta` derives rather than reads; never written.
DERIVED_FIELDS = ('num_heads_inferred', )


def stored_meta(meta: dict) -> dict:
    """What to write of ``meta`` (:func:`read_meta`'s) into a checkpoint:
    no derived flag, and no head count that was only guessed (so that it
    reads back as guessed, not as recorded)."""
    out = {k: v for k, v in meta.items() if k not in DERIVED_FIELDS}
    if meta.get('num_heads_inferred', False):
        out.pop('num_heads', None)
    return out


def guess_prefix(state: Dict[str, torch.Tensor]) -> Optional[str]:
    """``'backbone.'`` for a pre-training checkpoint, None for an encoder."""
    return 'backbone.' if 'backbone.pos_embed' in state else None


#: Linear classifiers on the pooled encoder feature, as mmpretrain names
#: them (VisionTransformerClsHead, LinearClsHead).
CLASSIFIER_PREFIXES = ('head.layers.head.', 'head.fc.')


_GUESS = object()


def load_encoder_checkpoint(path: str, prefix=_GUESS) -> dict:
    """Read the SemanticMIM encoder held by any of our checkpoints.

    Pre-training (``backbone.*`` with the [MASK] embedding), extracted (no
    prefix) and fine-tuned / downstream (``backbone.*`` beside a head)
    checkpoints all qualify. Loading goes through mmengine's
    ``CheckpointLoader`` (local files, URLs) and the package's safe
    ``torch.load`` (weights only), never executing code from the file.

    Args:
        path (str): Checkpoint file or URL.
        prefix (str, optional): Where the encoder's keys are (e.g.
            ``'backbone.'``; None: no prefix). Guessed when not given.

    Returns:
        dict: ``state`` (encoder weights, no prefix), ``meta`` (see
        :func:`read_meta`), ``prefix`` and ``head`` (the linear classifier's
        ``weight``/``bias`` when the checkpoint has one, else None).

    Raises:
        ValueError: The file cannot be read (``CorruptCheckpointError``) or
            holds no SemanticMIM encoder; the message names the file.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    # an empty, truncated or foreign file raises CorruptCheckpointError and
    # a code-carrying one UnsafeCheckpointError, each naming the file
    ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{path} holds no state dict.')
    from ..reference_checkpoint import CONVERTER_HINT, is_reference_state
    if is_reference_state(state):
        raise ValueError(f'{path}: {CONVERTER_HINT}.')
    guessed = prefix is _GUESS
    prefix = guess_prefix(state) if guessed else prefix
    encoder = strip_prefix(state, prefix)
    try:
        meta = read_meta(ckpt, encoder)
    except (KeyError, ValueError, AttributeError):
        where = ('with or without the \'backbone.\' prefix' if guessed else
                 f"under prefix {prefix!r}. For a pre-training checkpoint "
                 "use prefix='backbone.'; for one made by tools/"
                 'model_converters/extract_backbone.py, no prefix')
        raise ValueError(
            f'{path} holds no SemanticMIM encoder (no proxy_tokens / '
            f'pos_embed / patch_embed / layers) {where}.') from None
    head = None
    for p in CLASSIFIER_PREFIXES:
        if p + 'weight' in state:
            head = dict(weight=state[p + 'weight'], bias=state[p + 'bias'])
    if head is not None and any(k.startswith('head.layers.pre_logits')
                                for k in state):
        raise ValueError(
            f'{path}: the classifier has a hidden pre-logits layer, which '
            "timm's linear head cannot hold; convert a copy without the "
            "'head.*' keys (the encoder alone).")
    return dict(state=encoder, meta=meta, prefix=prefix, head=head)
