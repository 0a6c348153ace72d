"""Attention in numbers: mean attention distance and entropy per layer.

For each checkpoint, the attention maps the visualisation draws
(``SemanticMIMViT.attention_maps``) over a set of images give, per layer and
head, the mean attention distance of patch queries (in patches,
attention-weighted), the entropy of their attention over the patches
(nats), and the share of their attention that goes to the proxies (see
``mmsemanticmim.analysis.attention_stats``). Writes into OUT_DIR:
``attention.md`` (head-averaged figures, and the per-head spread),
``attention.json`` (per head) and ``attention.png`` (distance and entropy vs
layer; a dot per head, a line for the head mean).

Usage:
    python tools/analysis/attention_report.py CKPT [CKPT ...] --out-dir OUT
        [--data-root DIR [--split val] [--per-class 8] | --image FILE |
         --sample astronaut] [--names A B] [--img-size S]
        [--mean R G B] [--std R G B] [--device cpu]

Images: the first ``--per-class`` images of each class of DIR/SPLIT, else
one file, else a scikit-image sample photo.
"""
import argparse
import os.path as osp

import mmsemanticmim  # registers the components
from mmsemanticmim.analysis import (add_image_args, attention_report,
                                    checkpoint_names)


def main(argv=None):
    mmsemanticmim.setup_env()  # weights-only checkpoint loading
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoints', nargs='+')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--names', nargs='+')
    parser.add_argument('--data-root', help='class folder of images')
    parser.add_argument('--split', default='val')
    parser.add_argument(
        '--per-class',
        type=int,
        default=8,
        help='images of each class (with --data-root)')
    parser.add_argument('--image', help='one image file')
    parser.add_argument(
        '--sample', default='astronaut', help='scikit-image sample photo name')
    add_image_args(parser)
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    names = checkpoint_names(parser, args)
    if args.data_root and not osp.isdir(osp.join(args.data_root, args.split)):
        parser.error(f'{args.data_root}/{args.split} not found')
    if args.per_class < 1:
        parser.error(f'--per-class must be >= 1, got {args.per_class}')
    source = (f'{args.data_root}/{args.split}, {args.per_class} images a '
              'class' if args.data_root else args.image or args.sample)
    print(
        attention_report(
            args.checkpoints,
            names,
            args.out_dir,
            args.mean,
            args.std,
            args.img_size,
            args.device,
            caption=f'Attention over {source}',
            data_root=args.data_root,
            split=args.split,
            per_class=args.per_class,
            image=args.image,
            sample=args.sample))


if __name__ == '__main__':
    main()
