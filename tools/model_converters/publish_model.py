"""Prepare a checkpoint for release: keep the weights and meta (with the
encoder meta downstream configs read), drop the optimizer, message hub and
schedulers, and name the file ``OUT_YYYYMMDD-<sha256[:8]>.pth`` (mmpretrain's
and torch.hub's convention: a URL to it is checked against that hash).

Usage: python tools/model_converters/publish_model.py IN OUT [--date D]
"""
import argparse
import os.path as osp
import sys

import mmsemanticmim
from mmsemanticmim.checkpoint import (CorruptCheckpointError,
                                      UnsafeCheckpointError,
                                      publish_checkpoint)


def main():
    mmsemanticmim.setup_env()  # weights-only checkpoint loading
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='checkpoint to publish')
    parser.add_argument(
        'out',
        help='output path without date, hash and .pth (e.g. '
        'semanticmim-maskfeat_vit-base-p16_in1k)')
    parser.add_argument(
        '--date', help='YYYYMMDD in the name (default: '
        'today, UTC)')
    args = parser.parse_args()
    out = args.out[:-4] if args.out.endswith('.pth') else args.out
    try:
        dst = publish_checkpoint(args.src, out, args.date)
    except (ValueError, FileNotFoundError, CorruptCheckpointError,
            UnsafeCheckpointError) as e:
        sys.exit(f'error: {e}')
    print(f'wrote {dst} ({osp.getsize(dst) / 2**20:.1f} MiB)')


if __name__ == '__main__':
    main()
