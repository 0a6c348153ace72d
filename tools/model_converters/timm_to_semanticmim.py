"""Convert a timm VisionTransformer checkpoint to a SemanticMIM encoder.

Takes what ``semanticmim_to_timm.py`` wrote (its json beside the weights, or
the same arguments in the safetensors metadata, restore the layer flavour and
head count), or a plain timm ViT with a class and/or register tokens (they
become [PROXY] tokens). Writes the format of ``extract_backbone.py``
(``state_dict`` without prefix, ``meta['semanticmim_backbone']``), which the
downstream configs load with ``init_cfg=dict(type='Pretrained',
checkpoint=OUT)`` and ``num_proxy_tokens=None``.

Usage: python tools/model_converters/timm_to_semanticmim.py IN OUT
           [--layer-type {vit,beit}] [--num-heads N]
"""
import argparse
import json
import os.path as osp
import sys

import mmsemanticmim  # noqa: F401  (compat guards first)
import torch

from mmsemanticmim.models.backbones.checkpoint_meta import META_KEY
from mmsemanticmim.models.backbones.timm_interop import timm_to_encoder
from mmsemanticmim.utils import UnsafeCheckpointError, read_checkpoint
from mmsemanticmim.utils.output_files import (existing,
                                              refuse_overwriting_input,
                                              written_atomically)


def read_timm(path: str):
    """The timm state dict in ``path`` and our exporter's config, if any."""
    cfg = None
    if path.endswith('.safetensors'):
        try:
            from safetensors import safe_open
        except ImportError:
            sys.exit('safetensors is missing: pip install safetensors')
        try:
            with safe_open(path, framework='pt') as f:
                state = {k: f.get_tensor(k) for k in f.keys()}
                saved = (f.metadata() or {}).get('timm_config')
        except Exception as e:
            raise ValueError(f'{path} cannot be read as safetensors '
                             f'({type(e).__name__}: {e})') from None
        cfg = json.loads(saved) if saved else None
    else:
        state = read_checkpoint(path)  # errors name the path
        for key in ('state_dict', 'model', 'module'):
            if isinstance(state, dict) and isinstance(state.get(key), dict):
                state = state[key]
    beside = osp.splitext(path)[0] + '.json'
    if osp.exists(beside):
        with open(beside) as f:
            cfg = json.load(f)
    if not isinstance(state, dict):
        raise ValueError(f'{path} holds no state dict.')
    return state, cfg


def convert(src: str, dst: str, layer_type=None, num_heads=None) -> dict:
    """Write ``dst``; returns the encoder meta."""
    refuse_overwriting_input(
        [dst], [src, existing(osp.splitext(src)[0] + '.json')])
    state, cfg = read_timm(src)
    cfg = cfg or {}
    layer_type = layer_type or (cfg.get(META_KEY) or {}).get('layer_type')
    enc, meta, head = timm_to_encoder(
        state, cfg.get('model_args'), layer_type=layer_type,
        num_heads=num_heads, source=src)
    if not cfg.get('model_args') and num_heads is None:
        print(f'warning: {src} does not record its head count; assuming '
              f"{meta['num_heads']} heads of 64 channels (--num-heads).")
    if head is not None:
        print(f"note: the classifier ({head['weight'].shape[0]} classes) is "
              'not part of the encoder and is left out.')
    with written_atomically(dst) as tmp:
        torch.save(dict(meta={META_KEY: meta, 'source': osp.basename(src)},
                        state_dict=enc), tmp)
    return meta


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='timm weights (.safetensors/.pth/.bin)')
    parser.add_argument('dst', help='output encoder checkpoint (.pth)')
    parser.add_argument('--layer-type', choices=('vit', 'beit'),
                        help='default: what the json records, else vit')
    parser.add_argument('--num-heads', type=int,
                        help='default: what the json records, else dim/64')
    args = parser.parse_args()
    try:
        meta = convert(args.src, args.dst, args.layer_type, args.num_heads)
    except (ValueError, UnsafeCheckpointError) as e:
        sys.exit(f'error: {e}')
    print(f'wrote {args.dst}: {meta}')


if __name__ == '__main__':
    main()
