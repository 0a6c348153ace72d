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

import mmsemanticmim  # registers the components
from mmsemanticmim.checkpoint import extract_encoder


def main():
    mmsemanticmim.setup_env()  # weights-only checkpoint loading
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='pre-training checkpoint')
    parser.add_argument('dst', help='output backbone checkpoint')
    args = parser.parse_args()
    try:
        meta = extract_encoder(args.src, args.dst)
    except ValueError as e:
        raise SystemExit(f'error: {e}')
    print(f'wrote {args.dst}: {meta.to_dict()}')


if __name__ == '__main__':
    main()
