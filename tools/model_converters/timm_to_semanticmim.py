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
import sys

import mmsemanticmim  # registers the components
from mmsemanticmim.checkpoint import UnsafeCheckpointError
from mmsemanticmim.checkpoint.timm_files import convert_timm_checkpoint


def main():
    mmsemanticmim.setup_env()  # weights-only checkpoint loading
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='timm weights (.safetensors/.pth/.bin)')
    parser.add_argument('dst', help='output encoder checkpoint (.pth)')
    parser.add_argument(
        '--layer-type',
        choices=('vit', 'beit'),
        help='default: what the json records, else vit')
    parser.add_argument(
        '--num-heads',
        type=int,
        help='default: what the json records, else dim/64')
    args = parser.parse_args()
    try:
        meta = convert_timm_checkpoint(args.src, args.dst, args.layer_type,
                                       args.num_heads)
    except (ValueError, ImportError, UnsafeCheckpointError) as e:
        sys.exit(f'error: {e}')
    print(f'wrote {args.dst}: {meta}')


if __name__ == '__main__':
    main()
