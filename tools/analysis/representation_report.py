"""Layer-wise representation report: where do the semantics go?

For each checkpoint (pre-training or extracted encoder) and every layer, the
frozen patch-mean, proxy-mean and concatenated features of an image folder
are scored by k-NN (k=20, cosine, T=0.07) and a logistic-regression probe
(see ``mmsemanticmim.analysis.layer_probes``). Writes into OUT_DIR:
``representation.md`` (one table, and each checkpoint's best layer and
feature), ``representation.json`` (every record) and ``representation.png``
(accuracy vs layer, one line per checkpoint and feature, k-NN and linear
side by side).

Usage:
    python tools/analysis/representation_report.py CKPT [CKPT ...]
        --data-root DIR --out-dir OUT [--names A B] [--random-init]
        [--train-split train] [--test-split val] [--img-size S]
        [--mean R G B] [--std R G B] [--max-per-class N] [--device cpu]

DIR holds one sub-folder per class under each split (an ImageNet-format
folder, or one written by tools/dataset_converters/). ``--random-init`` adds
the first checkpoint's architecture with random weights as a floor.
``--max-per-class`` probes the first N images of each class of both splits
(a large folder on a CPU).
"""
import argparse
import os.path as osp

import mmsemanticmim  # registers the components
from mmsemanticmim.analysis import (add_image_args, checkpoint_names,
                                    representation_report)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoints', nargs='+')
    parser.add_argument('--data-root', required=True)
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--names', nargs='+')
    parser.add_argument(
        '--random-init',
        action='store_true',
        help="add the first checkpoint's architecture with "
        'random weights')
    parser.add_argument('--train-split', default='train')
    parser.add_argument('--test-split', default='val')
    add_image_args(parser)
    parser.add_argument(
        '--max-per-class',
        type=int,
        default=0,
        help='probe the first N images of each class '
        '(0: all)')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    args.names = checkpoint_names(parser, args)
    if args.max_per_class < 0:
        parser.error('--max-per-class must be >= 0 (0: every image), got '
                     f'{args.max_per_class}')
    for split in (args.train_split, args.test_split):
        if not osp.isdir(osp.join(args.data_root, split)):
            parser.error(f'{args.data_root}/{split} not found: --data-root '
                         'needs one sub-folder per class under each split')
    return args


def main(argv=None):
    mmsemanticmim.setup_env()  # weights-only checkpoint loading
    args = parse_args(argv)
    print(
        representation_report(
            args.checkpoints,
            args.names,
            args.out_dir,
            args.random_init,
            data_root=args.data_root,
            img_size=args.img_size,
            mean=args.mean,
            std=args.std,
            train_split=args.train_split,
            test_split=args.test_split,
            max_per_class=args.max_per_class or None,
            device=args.device))


if __name__ == '__main__':
    main()
