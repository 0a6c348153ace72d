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

import mmsemanticmim  # noqa: F401  (compat guards first)
from report_files import add_image_args

from mmsemanticmim.evaluation import (class_folders, evaluate_frozen,
                                      extract_features, load_frozen_encoder,
                                      tsne_plot)
from mmsemanticmim.models import SemanticMIMViT

MNIST_DEMO_NORM = dict(mean=[33.3] * 3, std=[78.6] * 3)


def frozen_encoder(checkpoint: str, random_init: bool = False,
                   seed: int = 0) -> SemanticMIMViT:
    """The checkpoint's last-layer patch features (``featmap`` after the
    final norm); ``random_init`` keeps its architecture, not its weights."""
    return load_frozen_encoder(checkpoint, random_init, seed,
                               out_type='featmap', final_norm=True)


def evaluate(encoder, data_root, img_size, mean, std, train_split='train',
             test_split='val', k=20, temperature=0.07, tsne=None,
             title=''):
    classes = class_folders(data_root, train_split)  # labels of both
    train = extract_features(encoder, data_root, train_split, img_size,
                             mean, std, classes=classes)
    test = extract_features(encoder, data_root, test_split, img_size, mean,
                            std, classes=classes)
    result = evaluate_frozen(train, test, k=k, temperature=temperature)
    if tsne:
        tsne_plot(*test, tsne, title=title)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint')
    parser.add_argument('--data-root', default='data/mnist_demo')
    parser.add_argument('--train-split', default='train')
    parser.add_argument('--test-split', default='val')
    add_image_args(parser, MNIST_DEMO_NORM)
    parser.add_argument('--k', type=int, default=20)
    parser.add_argument('--temperature', type=float, default=0.07)
    parser.add_argument('--tsne', help='write a t-SNE PNG here')
    parser.add_argument('--random-init', action='store_true',
                        help="the checkpoint's architecture, random weights")
    args = parser.parse_args()
    encoder = frozen_encoder(args.checkpoint, args.random_init)
    size = args.img_size or encoder.img_size[0]
    result = evaluate(encoder, args.data_root, size, args.mean, args.std,
                      args.train_split, args.test_split, args.k,
                      args.temperature, args.tsne, title=args.checkpoint)
    print(json.dumps(result))


if __name__ == '__main__':
    main()
