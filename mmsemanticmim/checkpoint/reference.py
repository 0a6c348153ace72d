"""Checkpoints of the authors' code (yyk-wew/SemanticMIM) in this package's
layout.

The authors' models (``MaskFeatOurs`` / ``BEiTOurs``) hold the same numbers
under other names: the proxies are ``backbone.cls_token`` (``(1, Np, D)``,
each with its own ``pos_embed`` slot, proxies first, as here); every
attention splits its input projection into ``q`` / ``kv``
(MaskFeat-based, with biases) or ``q_proj`` / ``kv_proj`` with
``q_bias`` / ``v_bias`` (BEiT-based; the key bias is zero, as here); the
reconstruction stack is ``backbone.extra_layers`` (absent in their baseline
mode); the MaskFeat prediction is ``neck.fc``. Everything else (patch
embedding, norms, FFNs, layer scales, the final ``backbone.ln1`` that both
codes apply to the reconstructed tokens, the BEiT head, the target
generator's tensors) has the same name and layout. The forward arithmetic is
the same (the paper, arXiv 2406.10673, and yyk-wew/SemanticMIM), so a
converted checkpoint computes what it computed there.

No library converts these files; the mapping is written here from the
authors' module definitions.
"""
import re
from typing import Dict, Optional, Tuple

import torch
from mmpretrain.models.backbones import VisionTransformer

from mmsemanticmim.utils.config_text import literal_setting
from mmsemanticmim.utils.output_files import (refuse_overwriting_input,
                                              written_atomically)
from .encoder_meta import META_KEY, EncoderMeta, strip_prefix
from .reading import read_checkpoint

#: Keys only the authors' checkpoints have (ours fuse ``attn.qkv``).
_REFERENCE_KEY = re.compile(
    r'^(backbone\.)?(layers|extra_layers)\.\d+\.attn\.(q|q_proj)\.weight$')


class ReferenceFormatError(ValueError):
    """A file that is not a checkpoint of the authors' code."""


def is_reference_state(state: Dict[str, object]) -> bool:
    """Whether ``state`` is laid out as the authors' code saves it."""
    return any(_REFERENCE_KEY.match(k)
               for k in state) and any(k.endswith('cls_token') for k in state)


#: What a loading tool says when it meets such a file.
CONVERTER_HINT = (
    'it is a checkpoint of the authors\' code (yyk-wew/SemanticMIM: '
    'cls_token proxies, split q/kv projections). Convert it first: python '
    'tools/model_converters/reference_to_semanticmim.py IN OUT')


def _fuse_attention(state: Dict[str, torch.Tensor], prefix: str,
                    out: Dict[str, torch.Tensor]) -> None:
    """``q`` + ``kv`` (or ``q_proj`` + ``kv_proj``) of one layer into our
    ``qkv``: the rows of q, then k, then v, as the reference splits ``kv``
    (rows ``0:D`` are the keys)."""
    attn = prefix + 'attn.'
    if attn + 'q_proj.weight' in state:  # BEiT-based: no k bias, as ours
        out[attn + 'qkv.weight'] = torch.cat(
            [state[attn + 'q_proj.weight'], state[attn + 'kv_proj.weight']])
        return
    for kind in ('weight', 'bias'):
        out[f'{attn}qkv.{kind}'] = torch.cat(
            [state[f'{attn}q.{kind}'], state[f'{attn}kv.{kind}']])


def convert_reference_state(state: Dict[str, torch.Tensor]
                            ) -> Tuple[Dict[str, torch.Tensor], dict]:
    """The authors' pre-training state dict in this package's names.

    Args:
        state (dict): ``checkpoint['state_dict']`` of ``MaskFeatOurs`` or
            ``BEiTOurs`` (bottleneck or baseline, any proxy count).

    Returns:
        tuple: Our pre-training model's state dict (``backbone.*``,
        ``neck.layers.*`` with the bottleneck, ``head.*``,
        ``target_generator.*``), and what was found: ``target``
        (``'maskfeat'`` / ``'beit'``), ``bottleneck``, ``num_proxy_tokens``.

    Raises:
        ReferenceFormatError: ``state`` is not in the authors' layout.
    """
    if not is_reference_state(state):
        raise ReferenceFormatError(
            'not a checkpoint of the authors\' code (no backbone.cls_token '
            'with split attention projections layers.N.attn.q / q_proj)')
    if any(k.startswith('backbone.') for k in state):
        state = {k: v for k, v in state.items()}
    else:  # a backbone saved on its own: put the prefix back
        state = {f'backbone.{k}': v for k, v in state.items()}
    fused = re.compile(r'\.attn\.(q|kv|q_proj|kv_proj)\.(weight|bias)$')
    out: Dict[str, torch.Tensor] = {}
    layers = set()
    for key, value in state.items():
        match = re.match(r'^backbone\.(layers|extra_layers)\.(\d+)\.', key)
        if match:
            layers.add(match.group(0))
        if fused.search(key):
            continue  # written by _fuse_attention
        if key == 'backbone.cls_token':
            out['backbone.proxy_tokens'] = value
        elif key.startswith('backbone.extra_layers.'):
            out['neck.layers.' + key[len('backbone.extra_layers.'):]] = value
        elif key.startswith('neck.fc.'):  # MaskFeat: LinearNeck -> head
            out['head.predictor.fc.' + key[len('neck.fc.'):]] = value
        else:
            out[key] = value
    for prefix in sorted(layers):
        target = prefix.replace('backbone.extra_layers.', 'neck.layers.')
        fused_layer: Dict[str, torch.Tensor] = {}
        _fuse_attention(state, prefix, fused_layer)
        out.update({
            k.replace(prefix, target): v
            for k, v in fused_layer.items()
        })
    info = dict(
        target='beit' if 'head.cls_head.weight' in state else 'maskfeat',
        bottleneck=any(k.startswith('backbone.extra_layers.') for k in state),
        num_proxy_tokens=int(state['backbone.cls_token'].shape[1]))
    return out, info


def reference_arch(config_text: Optional[str]) -> Optional[dict]:
    """The encoder's ``arch`` as the authors' config (``meta['cfg']``, the
    text mmengine stores) gives it, parsed without running it; None when
    the text does not say.

    Returns:
        dict, optional: ``embed_dims``, ``num_layers``, ``num_heads``,
        ``feedforward_channels``.
    """
    arch = literal_setting(config_text, 'arch')
    if isinstance(arch, dict):
        return arch
    if isinstance(arch, str):
        zoo = VisionTransformer.arch_zoo
        return dict(zoo[arch.lower()]) if arch.lower() in zoo else None
    return None


def reference_encoder_meta(converted: Dict[str, torch.Tensor],
                           arch: Optional[dict]) -> dict:
    """Our encoder meta (``meta['semanticmim_backbone']``) of a converted
    state dict; ``arch`` (see :func:`reference_arch`) gives the head count,
    which the weights cannot show.

    Raises:
        ReferenceFormatError: No ``arch``, or one that does not fit.
    """
    meta = EncoderMeta.from_state(strip_prefix(converted, 'backbone.'))
    if arch is None:
        raise ReferenceFormatError(
            'the file does not record its config (meta[\'cfg\']), so its '
            'number of attention heads is unknown (they leave no trace in '
            'the weights): give it with --num-heads N')
    if int(arch['embed_dims']) != meta.embed_dims:
        raise ReferenceFormatError(
            f"the config text gives embed_dims={arch['embed_dims']} but "
            f"the weights have {meta.embed_dims}")
    meta.num_heads = int(arch['num_heads'])
    return meta


def convert_reference_checkpoint(src: str,
                                 dst: str,
                                 backbone_only: bool = False,
                                 num_heads: Optional[int] = None) -> dict:
    """Write the authors' checkpoint ``src`` to ``dst`` in our layout.

    Args:
        src (str): A pre-training checkpoint of ``MaskFeatOurs`` /
            ``BEiTOurs``.
        dst (str): The output: our whole pre-training model (``load_from``
            of our pre-training config continues from it), or with
            ``backbone_only`` the encoder alone (``extract_backbone.py``'s
            format, for ``init_cfg=dict(type='Pretrained', prefix='')``).
        backbone_only (bool): Write only the encoder.
        num_heads (int, optional): The head count, where ``src`` does not
            record its config (mmengine stores it as ``meta['cfg']``).

    Returns:
        dict: ``meta`` (our encoder meta), ``info`` (see
        :func:`convert_reference_state`) and ``config`` (the settings of our
        pre-training config that this checkpoint needs).
    """
    refuse_overwriting_input([dst], [src])
    ckpt = read_checkpoint(src)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ReferenceFormatError(f'{src} holds no state dict.')
    try:
        converted, info = convert_reference_state(state)
    except ReferenceFormatError as e:
        raise ReferenceFormatError(f'{src}: {e}. Nothing written.') from None
    arch = reference_arch((ckpt.get('meta') or {}).get('cfg'))
    if num_heads is not None:
        arch = dict(
            arch or {},
            num_heads=num_heads,
            embed_dims=int(converted['backbone.pos_embed'].shape[-1]))
    try:
        meta = reference_encoder_meta(converted, arch)
    except ReferenceFormatError as e:
        raise ReferenceFormatError(f'{src}: {e}. Nothing written.') from None
    if backbone_only:
        converted = strip_prefix(converted, 'backbone.')
        converted.pop('mask_token', None)
    out = dict(
        meta={
            META_KEY: meta.to_dict(),
            'source': src,
            'converted_from': 'yyk-wew/SemanticMIM',
            **info
        },
        state_dict=converted)
    with written_atomically(dst) as tmp:
        torch.save(out, tmp)
    config = {
        'model.bottleneck': info['bottleneck'],
        'model.backbone.num_proxy_tokens': meta.num_proxy_tokens,
        'model.backbone.layer_type': meta.layer_type,
        'model.backbone.arch': meta.arch,
        'model.backbone.patch_size': meta.patch_size,
    }
    return dict(meta=meta, info=info, config=config)
