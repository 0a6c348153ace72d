"""Extract the encoder from a SemanticMIM pre-training checkpoint.

Keeps ``backbone.*`` without the prefix and without the [MASK] embedding
(the reconstruction stack, head and target generator are discarded, as the
method prescribes), plus ``meta['semanticmim_backbone']`` (proxy count,
layer flavour, width, depth, patch size), so downstream configs load it
with ``init_cfg=dict(type='Pretrained', checkpoint=OUT)`` (no prefix).
Refuses any file that is not a SemanticMIM pre-training checkpoint.

Usage: python tools/model_converters/extract_backbone.py IN OUT
"""
import argparse
import os.path as osp

import mmsemanticmim  # noqa: F401  (compat guards first)
import torch

from mmsemanticmim.models.backbones.checkpoint_meta import (META_KEY,
                                                            read_meta,
                                                            stored_meta,
                                                            strip_prefix)
from mmsemanticmim.models.reference_checkpoint import (CONVERTER_HINT,
                                                       is_reference_state)
from mmsemanticmim.utils import read_checkpoint
from mmsemanticmim.utils.output_files import (refuse_overwriting_input,
                                              written_atomically)


def extract(src: str, dst: str) -> dict:
    """Write the encoder of ``src`` to ``dst``; returns its meta."""
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
        meta = read_meta(ckpt, backbone)
    except (KeyError, ValueError):
        is_pretrain = False
    if not is_pretrain:
        raise ValueError(
            f'{src} is not a SemanticMIM pre-training checkpoint (it needs '
            'backbone.proxy_tokens, backbone.pos_embed, backbone.mask_token '
            'and the reconstruction side). Nothing written.')
    backbone.pop('mask_token')
    out = dict(
        meta={META_KEY: stored_meta(meta), 'source': osp.basename(src)},
        state_dict=backbone)
    with written_atomically(dst) as tmp:
        torch.save(out, tmp)
    return meta


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='pre-training checkpoint')
    parser.add_argument('dst', help='output backbone checkpoint')
    args = parser.parse_args()
    try:
        meta = extract(args.src, args.dst)
    except ValueError as e:
        raise SystemExit(f'error: {e}')
    print(f'wrote {args.dst}: {meta}')


if __name__ == '__main__':
    main()
