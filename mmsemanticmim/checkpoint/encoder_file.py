"""Reading the SemanticMIM encoder a checkpoint file holds."""
from dataclasses import dataclass
from typing import Dict, Optional

import torch

from .encoder_meta import (EncoderMeta, guess_prefix, recorded_meta,
                           strip_prefix)
from .reading import read_checkpoint
from .reference import CONVERTER_HINT, is_reference_state

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


def load_encoder_checkpoint(path: str,
                            prefix=_GUESS,
                            mmap: bool = False) -> EncoderCheckpoint:
    """Read the SemanticMIM encoder held by any of our checkpoints, once.

    Pre-training (``backbone.*`` with the [MASK] embedding), extracted (no
    prefix) and fine-tuned / downstream (``backbone.*`` beside a head)
    checkpoints all qualify. The file is read by
    :func:`~mmsemanticmim.checkpoint.read_checkpoint` (local files and URLs,
    weights only), never executing code from it.

    Args:
        path (str): Checkpoint file or URL.
        prefix (str, optional): Where the encoder's keys are (e.g.
            ``'backbone.'``; None: no prefix). Guessed when not given.
        mmap (bool): Map the tensors instead of reading them, for a caller
            that needs the meta and the shapes only (see
            :func:`~mmsemanticmim.checkpoint.read_checkpoint`).

    Returns:
        EncoderCheckpoint: weights, meta, prefix and classifier.

    Raises:
        ValueError: The file cannot be read (``CorruptCheckpointError``) or
            holds no SemanticMIM encoder; the message names the file.
    """
    # an empty, truncated or foreign file raises CorruptCheckpointError and
    # a code-carrying one UnsafeCheckpointError, each naming the file
    ckpt = read_checkpoint(path, mmap=mmap)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{path} holds no state dict.')
    if is_reference_state(state):
        raise ValueError(f'{path}: {CONVERTER_HINT}.')
    guessed = prefix is _GUESS
    prefix = guess_prefix(state) if guessed else prefix
    encoder = strip_prefix(state, prefix)
    try:
        meta = EncoderMeta.from_checkpoint(ckpt, encoder)
    except (KeyError, ValueError):
        raise ValueError(
            _no_encoder_message(path, state, encoder, prefix,
                                guessed)) from None
    head = None
    for p in CLASSIFIER_PREFIXES:
        if p + 'weight' in state:
            head = dict(weight=state[p + 'weight'], bias=state[p + 'bias'])
    return EncoderCheckpoint(
        path=path,
        state=encoder,
        meta=meta,
        prefix=prefix,
        head=head,
        full_state=state,
        recorded=recorded_meta(ckpt))


#: What an encoder's state holds (without prefix), by the key that shows it.
ENCODER_PARTS = {
    'proxy_tokens': 'proxy_tokens',
    'pos_embed': 'pos_embed',
    'patch_embed': 'patch_embed.projection.weight',
    'layers': 'layers.0.'
}


def _no_encoder_message(path: str, state: dict, encoder: dict, prefix,
                        guessed: bool) -> str:
    """Why ``path`` holds no SemanticMIM encoder: which parts are missing
    under the prefix in use, and the converter where the file is a plain
    ViT (timm's, or mmpretrain's MAE / BEiT without [PROXY] tokens)."""
    missing = [
        name for name, key in ENCODER_PARTS.items()
        if not any(k == key or k.startswith(key) for k in encoder)
    ]
    where = ('with or without the \'backbone.\' prefix'
             if guessed else f'under prefix {prefix!r}')
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
