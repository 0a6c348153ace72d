"""The paper's two claims at toy scale, on a small class folder, on CPU.

Arms, each with the same budget (epochs, batch, lr, schedule, seeds): the
tiny SemanticMIM and its MIM baseline for the HOG target and for the
normalised-pixel target, plus a randomly initialised encoder of the same
architecture as the floor. Each trained arm pre-trains on the train split
(labels unused), with the pixel mean / std of that split, then every layer's
frozen patch-mean, proxy-mean and concatenated features are scored by k-NN
(k=20, cosine, T=0.07) and a logistic-regression probe on the val split
(tools/analysis/representation_report.py), and the attention of each arm's
first seed is measured (mean distance, entropy, proxy share:
tools/analysis/attention_report.py). What data and how many images were
used is read from the data root (its meta.json and a count on disk).

Writes into WORK_DIR: ``results.md`` (mean +- std over seeds: last-layer
patch features, the best layer and feature, the best proxy features; then
the layer-wise and attention tables), ``results.json``,
``representation.{md,json,png}`` (seed-averaged), ``attention.{md,json,
png}``, one attention-map PNG per arm and per pair, one t-SNE PNG per arm.

Model and image size: the demo's tiny ViT (4 layers, width 96, 3 heads),
32x32 inputs, 4-pixel patches (8x8 grid), 4 proxies; mask ratio 0.8 with the
bottleneck, 0.4 without (the reference's MaskFeat ratios). The defaults,
8 epochs x 63 iterations (4,000 train images) and seeds 0 and 1, fit the
45-minute budget per data set on a 2-core AVX2 CPU (docs/evidence.md:
measured wall times); each further seed adds half again.

Usage: python tools/analysis/semanticmim_study.py [--work-dir DIR]
           [--epochs 8] [--seeds 0 1] [--data-root data/mnist_demo]
"""
import argparse
import os.path as osp

import mmsemanticmim  # registers the components
from mmsemanticmim.analysis.study import run_study


def main():
    mmsemanticmim.setup_env()  # weights-only checkpoint loading
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/study')
    parser.add_argument('--data-root', default='data/mnist_demo')
    parser.add_argument('--epochs', type=int, default=8)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error('--epochs must be >= 2 (1 warm-up epoch, then cosine)')
    if not osp.isdir(osp.join(args.data_root, 'train')):
        parser.error(
            f'{args.data_root}/train not found: write a class folder there '
            '(python tools/dataset_converters/mnist_to_folder.py '
            f'{args.data_root}, or fashion_mnist_to_folder.py), or run '
            'make study [STUDY_DATA=fashion-mnist]')
    print(run_study(args.work_dir, args.data_root, args.epochs, args.seeds))


if __name__ == '__main__':
    main()
