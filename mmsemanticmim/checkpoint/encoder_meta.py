"""What a SemanticMIM backbone checkpoint says about the encoder it holds."""
from dataclasses import asdict, dataclass, fields
from typing import Dict, List, Optional

import torch

#: Key under ``checkpoint['meta']`` written by ``BackboneMetaHook`` and by
#: ``tools/model_converters/extract_backbone.py``.
META_KEY = 'semanticmim_backbone'

#: The keys of an encoder's ``arch`` (a dict of the backbone's setting).
ARCH_KEYS = ('embed_dims', 'num_layers', 'num_heads', 'feedforward_channels')

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


class HeadCountUnknownError(ValueError):
    """A checkpoint that does not record its number of attention heads,
    which leave no trace in the weights."""


#: How to give a head count that a checkpoint does not record.
NUM_HEADS_FIX = (
    'record it by converting again with --num-heads N '
    '(tools/model_converters/reference_to_semanticmim.py or '
    'timm_to_semanticmim.py), or give it where the file is read: '
    '--num-heads N (semanticmim_to_timm.py, export_onnx.py), num_heads=N '
    '(SemanticMIMViT.from_checkpoint) or model.backbone.arch (a config)')


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
            it (heads leave no trace in the weights): whatever needs it
            (:attr:`arch`) then raises :class:`HeadCountUnknownError`.
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
            num_layers=1 + max(
                int(k.split('.')[1])
                for k in state if k.startswith('layers.')),
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
        """Whether the head count is recorded (else it is unknown)."""
        return self.num_heads is not None

    def set_num_heads(self,
                      num_heads: int,
                      source: str = 'the checkpoint') -> None:
        """Give the head count a file does not record (or confirm the one
        it does).

        Raises:
            ValueError: It does not divide the width, or differs from the
                recorded one.
        """
        if self.heads_recorded and self.num_heads != num_heads:
            raise ValueError(f'{source} records num_heads={self.num_heads},'
                             f' not {num_heads}.')
        if num_heads < 1 or self.embed_dims % num_heads:
            raise ValueError(f'num_heads={num_heads} does not divide the '
                             f'width of {source} ({self.embed_dims}).')
        self.num_heads = int(num_heads)

    def require_heads(self, source: str = 'the checkpoint') -> int:
        """The head count.

        Raises:
            HeadCountUnknownError: ``source`` does not record it; the
                message says how to give it.
        """
        if not self.heads_recorded:
            raise HeadCountUnknownError(
                f'{source} does not record its number of attention heads '
                f'(they leave no trace in the weights): {NUM_HEADS_FIX}.')
        return self.num_heads

    @property
    def heads_text(self) -> str:
        """``'2 heads of 48 channels'`` (or that the count is unknown)."""
        n = self.num_heads
        if n is None:
            return 'an unrecorded number of heads'
        return (f'{n} head{"s" if n != 1 else ""} of '
                f'{self.embed_dims // n} channels')

    @property
    def arch(self) -> dict:
        """``arch=dict(...)`` of the backbone.

        Raises:
            HeadCountUnknownError: The head count is not recorded.
        """
        arch = {k: getattr(self, k) for k in ARCH_KEYS}
        arch['num_heads'] = self.require_heads()
        return arch

    def to_dict(self) -> dict:
        """What to store in a checkpoint: no head count where none is
        recorded, so that it reads back as unknown."""
        out = asdict(self)
        if not self.heads_recorded:
            out.pop('num_heads')
        return out

    def layer_kwargs(self) -> dict:
        """The settings a config may leave None to read from a checkpoint
        (they need no head count)."""
        return dict(
            num_proxy_tokens=self.num_proxy_tokens,
            layer_type=self.layer_type,
            layer_scale_init_value=0.1 if self.layer_scale else 0.)

    def backbone_kwargs(self) -> dict:
        """The ``SemanticMIMViT`` settings this meta fixes: the one place a
        checkpoint's meta becomes backbone arguments.

        Raises:
            HeadCountUnknownError: The head count is not recorded.
        """
        return dict(
            arch=self.arch,
            img_size=list(self.img_size),
            patch_size=self.patch_size,
            **self.layer_kwargs())

    def mismatches(self, built: 'EncoderMeta') -> List[str]:
        """Where this (a checkpoint's) encoder differs from ``built`` (see
        :func:`meta_mismatches`)."""
        return meta_mismatches(self.to_dict(), built)


def recorded_meta(checkpoint: dict) -> dict:
    """``meta['semanticmim_backbone']`` of a loaded checkpoint ({} if
    none)."""
    return dict((checkpoint.get('meta') or {}).get(META_KEY) or {})


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
    return {
        k[len(prefix):]: v
        for k, v in state.items() if k.startswith(prefix)
    }


def guess_prefix(state: Dict[str, torch.Tensor]) -> Optional[str]:
    """``'backbone.'`` for a pre-training checkpoint, None for an encoder."""
    return 'backbone.' if 'backbone.pos_embed' in state else None
