"""Writing checkpoint files: the encoder of a pre-training checkpoint for
downstream use, and the weights-only release file of any checkpoint."""
import datetime
import hashlib
import io
import os
import os.path as osp
import pickle
import re
from typing import Optional

import torch

from mmsemanticmim.utils.output_files import (refuse_overwriting_input,
                                              written_atomically)
from .encoder_meta import META_KEY, EncoderMeta, strip_prefix
from .reading import read_checkpoint
from .reference import CONVERTER_HINT, is_reference_state


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
        meta={
            META_KEY: meta.to_dict(),
            'source': osp.basename(src)
        },
        state_dict=backbone)
    with written_atomically(dst) as tmp:
        torch.save(out, tmp)
    return meta


#: What a published checkpoint keeps of a training checkpoint; the rest
#: (optimizer, message hub, schedulers, EMA) is training state.
PUBLISHED_KEYS = ('state_dict', 'meta')


def publish_checkpoint(
    src: str,
    out_stem: str,
    date: Optional[str] = None,
) -> str:
    """Write the weights-only release file of a checkpoint, named as
    OpenMMLab (and torch.hub) do: ``{out_stem}_{YYYYMMDD}-{sha256[:8]}.pth``.

    Only ``state_dict`` and ``meta`` (with our encoder meta) are kept; the
    file loads with ``torch.load(weights_only=True)``, and a URL to it is
    checked against the hash in its name when downloaded
    (:func:`read_checkpoint`).

    Args:
        src (str): A checkpoint of ours (training or extracted).
        out_stem (str): The output path without date, hash and suffix.
        date (str, optional): ``YYYYMMDD``; defaults to today (UTC).

    Returns:
        str: The path written.
    """
    ckpt = read_checkpoint(src)
    if not isinstance(ckpt, dict) or not isinstance(
            ckpt.get('state_dict'), dict):
        raise ValueError(f'{src} holds no state_dict: not a checkpoint of '
                         'a model')
    published = {k: ckpt[k] for k in PUBLISHED_KEYS if k in ckpt}
    date = date or datetime.datetime.now(
        datetime.timezone.utc).strftime('%Y%m%d')
    if not re.fullmatch(r'\d{8}', date):
        raise ValueError(f'date must be YYYYMMDD, got {date!r}')
    # written to memory first: a file's archive records are named after
    # it, so the bytes (and the hash) would depend on the output name
    buffer = io.BytesIO()
    torch.save(published, buffer)
    data = buffer.getvalue()
    del buffer
    dst = f'{out_stem}_{date}-{hashlib.sha256(data).hexdigest()[:8]}.pth'
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    tmp = dst + '.tmp'
    try:
        with open(tmp, 'wb') as f:
            f.write(data)
        try:
            torch.load(tmp, map_location='cpu', weights_only=True)
        except pickle.UnpicklingError as e:
            raise ValueError(
                f'{src}: its state_dict or meta holds Python objects that a '
                'weights-only load refuses, so the published file would '
                f'not load safely; convert them to tensors / plain '
                f'containers first. Details: {e}') from None
        os.replace(tmp, dst)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return dst
