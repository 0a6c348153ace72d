"""Attention maps of patch queries and [PROXY] tokens, as in the paper's
Figure 1.

For each checkpoint (a SemanticMIM or baseline pre-training checkpoint, or an
extracted encoder) and one image, draws per layer the softmax attention
(heads averaged) of the chosen patch queries and of each proxy over the
patch grid, upsampled onto the image; query patches are boxed. With
``--subtract-proxy-mean`` the mean proxy->patch map is subtracted from each
patch query's map. Two checkpoints are drawn side by side.

Usage:
    python tools/analysis/visualize_attention.py CKPT [CKPT2] --out fig.png
        [--image FILE | --sample astronaut] [--img-size 480]
        [--queries 0.3,0.4 0.7,0.6] [--layers 0 5 11]
        [--names A B] [--subtract-proxy-mean] [--mean R G B --std R G B]

Images are normalised as the checkpoint was trained: with ``--mean/--std``,
else the ``data_preprocessor`` of the config the checkpoint records, else
ImageNet's statistics (with a warning).
"""
import argparse
from typing import Tuple

import mmsemanticmim  # registers the components
from mmsemanticmim.analysis import visualize


def _point(text: str) -> Tuple[float, float]:
    r, c = (float(v) for v in text.split(','))
    if not (0 <= r <= 1 and 0 <= c <= 1):
        raise argparse.ArgumentTypeError('queries are row,col in [0, 1]')
    return r, c


def main():
    mmsemanticmim.setup_env()  # weights-only checkpoint loading
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoints', nargs='+', help='one or two')
    parser.add_argument('--out', required=True, help='output PNG')
    parser.add_argument('--image', help='image file (default: a sample)')
    parser.add_argument(
        '--sample', default='astronaut', help='scikit-image sample photo name')
    parser.add_argument(
        '--img-size', type=int, help="input side (default: the checkpoint's)")
    parser.add_argument(
        '--queries',
        nargs='+',
        type=_point,
        default=[(0.35, 0.45), (0.75, 0.3)],
        help='patch queries as row,col fractions')
    parser.add_argument('--layers', nargs='+', type=int)
    parser.add_argument('--names', nargs='+')
    parser.add_argument('--subtract-proxy-mean', action='store_true')
    parser.add_argument(
        '--mean',
        nargs=3,
        type=float,
        metavar='C',
        help='pixel mean (0-255) to normalise with '
        "(default: the checkpoint's training config's)")
    parser.add_argument(
        '--std',
        nargs=3,
        type=float,
        metavar='C',
        help='pixel std (0-255), with --mean')
    args = parser.parse_args()
    if len(args.checkpoints) > 2:
        parser.error('give one or two checkpoints')
    if (args.mean is None) != (args.std is None):
        parser.error('give --mean and --std together')
    print(
        visualize(args.checkpoints, args.out, args.image, args.sample,
                  args.img_size, args.queries, args.layers, args.names,
                  args.subtract_proxy_mean, args.mean, args.std))


if __name__ == '__main__':
    main()
