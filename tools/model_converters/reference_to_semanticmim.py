"""Convert a checkpoint of the authors' code (yyk-wew/SemanticMIM) to ours.

Either instantiation (``MaskFeatOurs``, ``BEiTOurs``), any proxy count,
bottleneck or baseline. The output is our whole pre-training model (encoder,
reconstruction stack, head, target generator), so pre-training continues
from it (``load_from``) with a config of the same settings (printed); with
``--backbone-only`` the encoder alone, as ``extract_backbone.py`` writes it.

Usage: python tools/model_converters/reference_to_semanticmim.py IN OUT
           [--backbone-only] [--num-heads N] [--trust-checkpoint IN]
"""
import argparse

import mmsemanticmim  # registers the components
from mmsemanticmim.checkpoint import UnsafeCheckpointError, trust_checkpoint
from mmsemanticmim.checkpoint.reference import (ReferenceFormatError,
                                                convert_reference_checkpoint)


def main():
    # weights-only checkpoint loading; refusals name --trust-checkpoint
    mmsemanticmim.setup_env(trust_flag='--trust-checkpoint')
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help="the authors' pre-training checkpoint")
    parser.add_argument('dst', help='output checkpoint')
    parser.add_argument(
        '--backbone-only',
        action='store_true',
        help='write only the encoder (no prefix, no [MASK] '
        'embedding)')
    parser.add_argument(
        '--num-heads',
        type=int,
        metavar='N',
        help="the encoder's head count, where the file does "
        "not record its config (default: 64-wide heads)")
    parser.add_argument(
        '--trust-checkpoint',
        action='append',
        default=[],
        metavar='PATH',
        help='allow full unpickling of this file (mmengine '
        'saves its message hub as objects a weights-only '
        'load refuses; only for files you trust)')
    args = parser.parse_args()
    for path in args.trust_checkpoint:
        trust_checkpoint(path)
    try:
        done = convert_reference_checkpoint(args.src, args.dst,
                                            args.backbone_only, args.num_heads)
    except (ReferenceFormatError, UnsafeCheckpointError) as e:
        raise SystemExit(f'error: {e}')
    print(f"wrote {args.dst}: {done['info']}, encoder {done['meta']}")
    if not args.backbone_only:
        print('our pre-training config must set: ' +
              ', '.join(f'{k}={v!r}' for k, v in done['config'].items()))


if __name__ == '__main__':
    main()
