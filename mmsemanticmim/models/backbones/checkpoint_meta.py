"""What a SemanticMIM backbone checkpoint says about the encoder it holds."""
from dataclasses import asdict, dataclass, fields
from typing import Dict, List, Optional

import torch

from ..utils.layer_stack import ARCH_KEYS

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

@dataclass
class EncoderMeta:
    """What a checkpoint records of the encoder it holds (stored under
    ``meta['semanticmim_backbone']``), or what its weights show.

    Attributes:
        num_proxy_tokens, layer_type, embed_dims, num_layers,
        feedforward_channels, patch_size: As the backbone's settings.
        layer_scale (bool): Whether the layers have layer scale.
        img_size (list[int]): The pre-training input size (H, W).
        num_heads (int, optional): None when the checkpoint does not record
            it (heads leave no trace in the weights); :attr:`heads` then
            assumes ViT's 64-wide heads.
    """
    num_proxy_tokens: int
    layer_type: str
    layer_scale: bool
    embed_dims: int
    num_layers: int
    feedforward_channels: int
    patch_size: int
    img_size: List[int]
    num_heads: Optional[int] = None

    @classmethod
    def from_state(cls, state: Dict[str, torch.Tensor]) -> 'EncoderMeta':
        """The settings read off the encoder's weights (no prefix); the
        head count stays unknown and ``img_size`` is taken as square.

        Raises:
            KeyError: ``state`` holds no SemanticMIM encoder.
        """
        if 'proxy_tokens' not in state or 'pos_embed' not in state:
            raise KeyError('no proxy_tokens / pos_embed')
        num_proxy_tokens = int(state['proxy_tokens'].shape[1])
        patch_size = int(state['patch_embed.projection.weight'].shape[-1])
        side = round((state['pos_embed'].shape[1] - num_proxy_tokens)**0.5)
        return cls(
            num_proxy_tokens=num_proxy_tokens,
            layer_type='beit' if 'layers.0.attn.q_bias' in state else 'vit',
            layer_scale='layers.0.gamma_1' in state,
            embed_dims=int(state['pos_embed'].shape[-1]),
            num_layers=1 + max(int(k.split('.')[1]) for k in state
                               if k.startswith('layers.')),
            feedforward_channels=int(
                state['layers.0.ffn.layers.0.0.weight'].shape[0]),
            patch_size=patch_size,
            img_size=[side * patch_size] * 2)

    @classmethod
    def from_checkpoint(cls, checkpoint: dict,
                        state: Dict[str, torch.Tensor]) -> 'EncoderMeta':
        """The meta ``checkpoint`` records, completed from the encoder
        weights ``state`` where it records nothing."""
        meta = cls.from_state(state)
        saved = recorded_meta(checkpoint)
        known = {f.name for f in fields(cls)}
        for key, value in saved.items():
            if key in known:
                setattr(meta, key, value)
        return meta

    @property
    def heads_recorded(self) -> bool:
        """Whether the head count was recorded rather than guessed."""
        return self.num_heads is not None

    @property
    def heads(self) -> int:
        """The recorded head count, else ViT's 64-wide heads."""
        return self.num_heads if self.heads_recorded else max(
            1, self.embed_dims // 64)

    @property
    def heads_text(self) -> str:
        """``'2 heads of 48 channels'``: the head count and width."""
        n = self.heads
        return (f'{n} head{"s" if n != 1 else ""} of '
                f'{self.embed_dims // n} channels')

    @property
    def arch(self) -> dict:
        """``arch=dict(...)`` of the backbone (64-wide heads if unknown)."""
        arch = {k: getattr(self, k) for k in ARCH_KEYS}
        arch['num_heads'] = self.heads
        return arch

    def to_dict(self) -> dict:
        """What to store in a checkpoint: no head count that was not
        recorded, so that it reads back as unknown."""
        out = asdict(self)
        if not self.heads_recorded:
            out.pop('num_heads')
        return out

    def backbone_kwargs(self) -> dict:
        """The ``SemanticMIMViT`` settings this meta fixes: the one place a
        checkpoint's meta becomes backbone arguments."""
        return dict(
            arch=self.arch,
            img_size=list(self.img_size),
            patch_size=self.patch_size,
            num_proxy_tokens=self.num_proxy_tokens,
            layer_type=self.layer_type,
            layer_scale_init_value=0.1 if self.layer_scale else 0.)

    def mismatches(self, built: 'EncoderMeta') -> List[str]:
        """Where this (a checkpoint's) encoder differs from ``built`` (see
        :func:`meta_mismatches`)."""
        return meta_mismatches(self.to_dict(), built)


def recorded_meta(checkpoint: dict) -> dict:
    """``meta['semanticmim_backbone']`` of a loaded checkpoint ({} if none).

    A head count flagged ``num_heads_inferred`` was guessed, not recorded:
    it is dropped here, so it reads as unknown.
    """
    saved = dict((checkpoint.get('meta') or {}).get(META_KEY) or {})
    if saved.pop('num_heads_inferred', False):
        saved.pop('num_heads', None)
    return saved


def meta_mismatches(saved: dict, built: EncoderMeta) -> List[str]:
    """Where a checkpoint's stored meta differs from the encoder a config
    builds.

    Args:
        saved (dict): ``meta['semanticmim_backbone']`` of a checkpoint (or
            :meth:`EncoderMeta.to_dict`): a field it does not record, such as
            an unknown head count, is not held against the config.
        built (EncoderMeta): ``SemanticMIMViT.checkpoint_meta()``.

    Returns:
        list[str]: One line per differing field, naming the config key to
        change; empty when everything agrees.
    """
    out = []
    for key, field in META_CONFIG_KEYS.items():
        if key in saved and saved[key] != getattr(built, key):
            out.append(f'the checkpoint has {key}={saved[key]!r} but the '
                       f'config builds {key}={getattr(built, key)!r}: set '
                       f'{field} to match')
    return out


def strip_prefix(state: Dict[str, torch.Tensor],
                 prefix: Optional[str]) -> Dict[str, torch.Tensor]:
    """Keys under ``prefix`` (e.g. ``'backbone.'``) with the prefix removed."""
    if not prefix:
        return dict(state)
    prefix = prefix if prefix.endswith('.') else prefix + '.'
    return {k[len(prefix):]: v for k, v in state.items()
            if k.startswith(prefix)}


def guess_prefix(state: Dict[str, torch.Tensor]) -> Optional[str]:
    """``'backbone.'`` for a pre-training checkpoint, None for an encoder."""
    return 'backbone.' if 'backbone.pos_embed' in state else None


#: Linear classifiers on the pooled encoder feature, as mmpretrain names
#: them (VisionTransformerClsHead, LinearClsHead).
CLASSIFIER_PREFIXES = ('head.layers.head.', 'head.fc.')


@dataclass
class EncoderCheckpoint:
    """The encoder a checkpoint file holds (:func:`load_encoder_checkpoint`).

    Attributes:
        path (str): The file.
        state (dict): Encoder weights, no prefix.
        meta (EncoderMeta): What the file records, completed from weights.
        prefix (str, optional): Where the encoder's keys were.
        head (dict, optional): ``weight``/``bias`` of the linear classifier
            on the pooled feature, when the file has one.
        full_state (dict): Every weight of the file (for checks of what
            lies beside the encoder).
        recorded (dict): What the file itself records of the encoder
            (:func:`recorded_meta`; empty if nothing).
    """
    path: str
    state: Dict[str, torch.Tensor]
    meta: EncoderMeta
    prefix: Optional[str]
    head: Optional[Dict[str, torch.Tensor]]
    full_state: Dict[str, torch.Tensor]
    recorded: dict


_GUESS = object()


def load_encoder_checkpoint(path: str, prefix=_GUESS,
                            mmap: bool = False) -> EncoderCheckpoint:
    """Read the SemanticMIM encoder held by any of our checkpoints, once.

    Pre-training (``backbone.*`` with the [MASK] embedding), extracted (no
    prefix) and fine-tuned / downstream (``backbone.*`` beside a head)
    checkpoints all qualify. The file is read by
    :func:`mmsemanticmim.utils.read_checkpoint` (local files and URLs,
    weights only), never executing code from it.

    Args:
        path (str): Checkpoint file or URL.
        prefix (str, optional): Where the encoder's keys are (e.g.
            ``'backbone.'``; None: no prefix). Guessed when not given.
        mmap (bool): Map the tensors instead of reading them, for a caller
            that needs the meta and the shapes only (see
            :func:`~mmsemanticmim.utils.read_checkpoint`).

    Returns:
        EncoderCheckpoint: weights, meta, prefix and classifier.

    Raises:
        ValueError: The file cannot be read (``CorruptCheckpointError``) or
            holds no SemanticMIM encoder; the message names the file.
    """
    from mmsemanticmim.utils.checkpoint_file import read_checkpoint

    # an empty, truncated or foreign file raises CorruptCheckpointError and
    # a code-carrying one UnsafeCheckpointError, each naming the file
    ckpt = read_checkpoint(path, mmap=mmap)
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
        meta = EncoderMeta.from_checkpoint(ckpt, encoder)
    except (KeyError, ValueError, AttributeError):
        raise ValueError(_no_encoder_message(path, state, encoder, prefix,
                                             guessed)) from None
    head = None
    for p in CLASSIFIER_PREFIXES:
        if p + 'weight' in state:
            head = dict(weight=state[p + 'weight'], bias=state[p + 'bias'])
    return EncoderCheckpoint(path=path, state=encoder, meta=meta,
                             prefix=prefix, head=head, full_state=state,
                             recorded=recorded_meta(ckpt))


#: What an encoder's state holds (without prefix), by the key that shows it.
ENCODER_PARTS = {'proxy_tokens': 'proxy_tokens',
                 'pos_embed': 'pos_embed',
                 'patch_embed': 'patch_embed.projection.weight',
                 'layers': 'layers.0.'}


def _no_encoder_message(path: str, state: dict, encoder: dict, prefix,
                        guessed: bool) -> str:
    """Why ``path`` holds no SemanticMIM encoder: which parts are missing
    under the prefix in use, and the converter where the file is a plain
    ViT (timm's, or mmpretrain's MAE / BEiT without [PROXY] tokens)."""
    missing = [name for name, key in ENCODER_PARTS.items()
               if not any(k == key or k.startswith(key) for k in encoder)]
    where = ('with or without the \'backbone.\' prefix' if guessed else
             f'under prefix {prefix!r}')
    message = (f'{path} holds no SemanticMIM encoder {where}: it has no '
               f'{" / ".join(missing)}.')
    if any(k.endswith('blocks.0.attn.qkv.weight') for k in state):
        return message + (
            ' It is a timm ViT: convert it with tools/model_converters/'
            'timm_to_semanticmim.py (its class / register tokens become '
            '[PROXY] tokens).')
    if missing == ['proxy_tokens']:
        return message + (
            ' It is a plain ViT (e.g. mmpretrain\'s MAE or BEiT), which has '
            'no [PROXY] tokens to initialise SemanticMIM\'s from: start '
            'from a SemanticMIM checkpoint, or, for a timm ViT, convert it '
            'with tools/model_converters/timm_to_semanticmim.py.')
    if not guessed:
        message += (" For a pre-training checkpoint use prefix='backbone.'; "
                    'for one made by tools/model_converters/'
                    'extract_backbone.py, no prefix.')
    return message


def extract_encoder(src: str, dst: str) -> EncoderMeta:
    """Write the encoder of the pre-training checkpoint ``src`` to ``dst``
    (``backbone.*`` without the prefix and the [MASK] embedding, with its
    meta), for ``init_cfg=dict(type='Pretrained', checkpoint=dst)``.

    Args:
        src (str): A SemanticMIM pre-training checkpoint.
        dst (str): The output; never ``src``.

    Returns:
        EncoderMeta: The encoder's meta, as written.

    Raises:
        ValueError: ``src`` is not a SemanticMIM pre-training checkpoint
            (nothing is written).
    """
    import os.path as osp

    from mmsemanticmim.utils.checkpoint_file import read_checkpoint
    from mmsemanticmim.utils.output_files import (refuse_overwriting_input,
                                                  written_atomically)
    from ..reference_checkpoint import CONVERTER_HINT, is_reference_state
    refuse_overwriting_input([dst], [src])
    ckpt = read_checkpoint(src)
    state = ckpt.get('state_dict') if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{src} has no state_dict: not an mmengine '
                         'checkpoint.')
    if is_reference_state(state):
        raise ValueError(f'{src}: {CONVERTER_HINT}; then extract from OUT '
                         '(or convert with --backbone-only).')
    backbone = strip_prefix(state, 'backbone.')
    is_pretrain = 'mask_token' in backbone and any(
        k.startswith(('neck.', 'head.')) for k in state)
    try:
        meta = EncoderMeta.from_checkpoint(ckpt, backbone)
    except (KeyError, ValueError):
        is_pretrain = False
    if not is_pretrain:
        raise ValueError(
            f'{src} is not a SemanticMIM pre-training checkpoint (it needs '
            'backbone.proxy_tokens, backbone.pos_embed, backbone.mask_token '
            'and the reconstruction side). Nothing written.')
    backbone.pop('mask_token')
    out = dict(
        meta={META_KEY: meta.to_dict(), 'source': osp.basename(src)},
        state_dict=backbone)
    with written_atomically(dst) as tmp:
        torch.save(out, tmp)
    return meta
