"""Export a SemanticMIM encoder to ONNX and check it with onnxruntime.

The exported graph is the downstream encoder (proxies attend with the
patches, then are left out of the output) with a dynamic batch axis and,
with ``--dynamic-size``, dynamic height and width (multiples of the patch
size; the position embedding is resized inside the graph as in PyTorch).

Usage: python tools/deployment/export_onnx.py CKPT OUT
           [--img-size H [W]] [--dynamic-size] [--out-type featmap]
           [--opset N] [--no-check] [--atol 1e-4] [--num-heads N]
"""
import argparse
import sys

import mmsemanticmim  # registers the components
from mmsemanticmim.checkpoint import (UnsafeCheckpointError,
                                      check_encoder_onnx, export_encoder_onnx)
from mmsemanticmim.models.backbones import SemanticMIMViT


def main():
    mmsemanticmim.setup_env()  # weights-only checkpoint loading
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('ckpt', help='SemanticMIM checkpoint (any of ours)')
    parser.add_argument('out', help='output .onnx file')
    parser.add_argument(
        '--img-size',
        type=int,
        nargs='+',
        metavar='S',
        help="export size H [W] (default: the checkpoint's)")
    parser.add_argument(
        '--dynamic-size',
        action='store_true',
        help='dynamic height and width (multiples of the '
        'patch size)')
    parser.add_argument(
        '--out-type', default='featmap', choices=SemanticMIMViT.OUT_TYPES)
    parser.add_argument(
        '--opset',
        type=int,
        default=None,
        help='ONNX opset (default: 18 with the dynamo '
        'exporter, 17 with the TorchScript one of torch < '
        '2.5)')
    parser.add_argument(
        '--no-check',
        action='store_true',
        help='skip the onnxruntime comparison')
    parser.add_argument('--atol', type=float, default=1e-4)
    parser.add_argument(
        '--num-heads',
        type=int,
        metavar='N',
        help='the head count, for a checkpoint that does '
        'not record it')
    args = parser.parse_args()
    img_size = args.img_size
    if img_size is not None and len(img_size) == 1:
        img_size = img_size * 2
    try:
        encoder = export_encoder_onnx(args.ckpt, args.out, img_size,
                                      args.dynamic_size, args.out_type,
                                      args.opset, args.num_heads)
    except (ValueError, ImportError, UnsafeCheckpointError) as e:
        sys.exit(f'error: {e}')
    print(f'wrote {args.out}')
    if not args.no_check:
        H, W = encoder.img_size
        p = encoder.patch_size
        sizes = [(1, H, W), (3, H, W)]
        if args.dynamic_size:
            sizes.append((2, H + 2 * p, W + p))
        try:
            errors = check_encoder_onnx(encoder, args.out, sizes, args.atol)
        except (ImportError, AssertionError) as e:
            sys.exit(f'error: {e}')
        for size, err in errors.items():
            print(f'input {size}: max |onnx - torch| = {err:.2e}')


if __name__ == '__main__':
    main()
