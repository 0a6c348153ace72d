"""Frozen-feature evaluation of an encoder: k-NN, linear probe, t-SNE.

Features: the frozen encoder's mean-pooled patch tokens (proxies left out),
after its final norm. k-NN: cosine similarity, k=20, votes weighted by
exp(similarity / 0.07), as DINO evaluates. Linear probe: multinomial logistic
regression (scikit-learn, Newton-CG, L2) on standardised features, which is
quick on a CPU; mmpretrain's linear-probe recipe is
configs/benchmarks/classification/*-linear-*.py. t-SNE of the test features
coloured by class, as PNG.

Usage:
    python tools/analysis/eval_frozen_features.py CKPT --data-root DIR
        [--train-split train] [--test-split val] [--img-size 32]
        [--tsne out.png] [--random-init] [--k 20] [--temperature 0.07]

DIR holds one sub-folder per class under each split (as written by
tools/dataset_converters/mnist_to_folder.py). Prints one JSON line.
"""
import argparse
import json

import mmsemanticmim  # registers the components
from mmsemanticmim.analysis import (add_image_args, evaluate_class_folder,
                                    load_frozen_encoder)

MNIST_DEMO_NORM = dict(mean=[33.3] * 3, std=[78.6] * 3)


def main():
    mmsemanticmim.setup_env()  # weights-only checkpoint loading
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint')
    parser.add_argument('--data-root', default='data/mnist_demo')
    parser.add_argument('--train-split', default='train')
    parser.add_argument('--test-split', default='val')
    add_image_args(parser, MNIST_DEMO_NORM)
    parser.add_argument('--k', type=int, default=20)
    parser.add_argument('--temperature', type=float, default=0.07)
    parser.add_argument('--tsne', help='write a t-SNE PNG here')
    parser.add_argument(
        '--random-init',
        action='store_true',
        help="the checkpoint's architecture, random weights")
    args = parser.parse_args()
    # the last layer's patch features, after the final norm
    encoder = load_frozen_encoder(
        args.checkpoint, args.random_init, out_type='featmap', final_norm=True)
    size = args.img_size or encoder.img_size[0]
    result = evaluate_class_folder(
        encoder,
        args.data_root,
        size,
        args.mean,
        args.std,
        args.train_split,
        args.test_split,
        args.k,
        args.temperature,
        args.tsne,
        title=args.checkpoint)
    print(json.dumps(result))


if __name__ == '__main__':
    main()
