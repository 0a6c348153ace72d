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
import json
import os
import os.path as osp
import statistics
import time
from typing import List, Sequence

from mmengine.config import Config

import mmsemanticmim  # registers the components
from mmsemanticmim.analysis import (attention_report, best_record,
                                    image_folder_batches, layer_report,
                                    visualize, write_representation)
from mmsemanticmim.datasets.class_folder import describe_class_folder
from mmsemanticmim.engine import add_checkpoint_hooks, build_runner
from mmsemanticmim.utils.package_files import package_file

#: Each arm's name in the tables, and its config's stem.
ARMS = {
    'SemanticMIM (HOG)': 'semanticmim-maskfeat',
    'baseline (HOG)': 'baseline-maskfeat',
    'SemanticMIM (pixel)': 'semanticmim-pixel',
    'baseline (pixel)': 'baseline-pixel',
}
SUFFIX = '_vit-tiny-p4_1xb64-coslr-10e_mnist-demo.py'


def pretrain(name: str, data_root: str, work_dir: str, epochs: int, seed: int,
             norm: dict) -> str:
    """Pre-train one arm (``configs/semanticmim/NAME{SUFFIX}``) with the
    study's budget; returns its final checkpoint."""
    cfg = Config.fromfile(
        package_file('configs', 'semanticmim', name + SUFFIX))
    cfg.data_preprocessor.mean = norm['mean']
    cfg.data_preprocessor.std = norm['std']
    cfg.work_dir = work_dir
    cfg.experiment_name = f'{name}_seed{seed}_{time.time_ns()}'
    cfg.train_dataloader.dataset.data_root = data_root
    cfg.train_dataloader.num_workers = 1
    cfg.train_dataloader.persistent_workers = False
    cfg.train_cfg.max_epochs = epochs
    # the same schedule shape for every arm, stretched to the epochs given
    cfg.param_scheduler[-1].end = epochs
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=epochs, max_keep_ckpts=1)
    cfg.default_hooks.logger.interval = 50
    add_checkpoint_hooks(cfg)
    build_runner(cfg).train()
    return osp.join(work_dir, f'epoch_{epochs}.pth')


def pixel_statistics(data_root: str,
                     split: str = 'train',
                     img_size: int = 32) -> dict:
    """Per-channel pixel mean and std (0-255) of a split, as the data
    preprocessor and the probes normalise with them."""
    total, total_sq, count = 0., 0., 0
    for img, _ in image_folder_batches(data_root, split, img_size, [0.] * 3,
                                       [1.] * 3):
        total = total + img.sum((0, 2, 3)).double()
        total_sq = total_sq + (img.double()**2).sum((0, 2, 3))
        count += img.shape[0] * img.shape[2] * img.shape[3]
    mean = total / count
    std = (total_sq / count - mean**2).sqrt()
    return dict(
        mean=[round(float(v), 2) for v in mean],
        std=[round(float(v), 2) for v in std])


def channels(values: List[float]) -> str:
    """One number for grey data (equal channels), else the RGB triple."""
    return str(values[0]) if len(set(values)) == 1 else str(list(values))


def mean_records(per_seed: List[List[dict]]) -> List[dict]:
    """Seed-averaged probe records, with the std over seeds."""
    out = []
    for rows in zip(*per_seed):
        if len({(r['layer'], r['feature']) for r in rows}) != 1:
            raise ValueError('the seeds probed different layers / features')
        rec = dict(layer=rows[0]['layer'], feature=rows[0]['feature'])
        for metric in ('knn', 'linear'):
            values = [r[metric] for r in rows]
            rec[metric] = statistics.mean(values)
            rec[f'{metric}_std'] = statistics.stdev(values) \
                if len(values) > 1 else 0.
        out.append(rec)
    return out


def arm_row(arm: str, per_seed: List[dict]) -> str:
    """One results-table row: last-layer patch features (mean +- std over
    seeds), then the best layer / feature and the best proxy features of
    the seed-averaged records."""

    def stat(values):
        sd = statistics.stdev(values) if len(values) > 1 else 0.
        return f'{statistics.mean(values):.1f} ± {sd:.1f}'

    def best(metric, feature=None):
        try:
            r = best_record(records, metric, feature)
        except ValueError:
            return '–'
        where = f"L{r['layer']}" if feature else \
            f"{r['feature']}, L{r['layer']}"
        return f"{r[metric]:.1f} ± {r[metric + '_std']:.1f} ({where})"

    records = mean_records([r['records'] for r in per_seed])
    last = [r for r in records if r['feature'] == 'patch'][-1]['layer']
    lasts = [[
        r for r in s['records']
        if r['feature'] == 'patch' and r['layer'] == last
    ][0] for s in per_seed]
    return (f"| {arm} | {stat([r['knn'] for r in lasts])} | "
            f"{stat([r['linear'] for r in lasts])} | {best('knn')} | "
            f"{best('linear')} | {best('knn', 'proxy')} | "
            f"{best('linear', 'proxy')} |")


def run_study(work_dir: str, data_root: str, epochs: int,
              seeds: Sequence[int]) -> str:
    """Pre-train every arm for every seed, probe and draw them, and write
    ``results.{md,json}`` and the reports into ``work_dir``.

    Args:
        work_dir (str): Where every run and report goes.
        data_root (str): A class folder with ``train`` and ``val`` splits.
        epochs (int): Pre-training epochs of each arm (>= 2).
        seeds (Sequence[int]): One run of each arm per seed.

    Returns:
        str: The results table (``results.md``).
    """
    data = describe_class_folder(data_root)
    os.makedirs(work_dir, exist_ok=True)
    start = time.time()
    norm = pixel_statistics(data_root)
    print(
        f"[study] {data['caption']}; pixel mean {channels(norm['mean'])}, "
        f"std {channels(norm['std'])}",
        flush=True)
    probe = dict(data_root=data_root, img_size=32, **norm)
    results, ckpts = {}, {}
    for arm, name in ARMS.items():
        for seed in seeds:
            run_dir = osp.join(work_dir, f'{name}_seed{seed}')
            ckpt = pretrain(name, data_root, run_dir, epochs, seed, norm)
            ckpts.setdefault(arm, ckpt)
            tsne = osp.join(work_dir, f'tsne_{name}.png') \
                if seed == seeds[0] else None
            records = layer_report(
                ckpt, tsne=tsne, title=f'{arm}, seed {seed}', **probe)
            results.setdefault(arm,
                               []).append(dict(seed=seed, records=records))
            best = best_record(records)
            print(
                f"[study] {arm} seed {seed}: last layer {records[-3:]}, "
                f"best linear {best} ({time.time() - start:.0f} s)",
                flush=True)
    any_ckpt = next(iter(ckpts.values()))
    for seed in seeds:
        tsne = osp.join(work_dir, 'tsne_random-init.png') \
            if seed == seeds[0] else None
        records = layer_report(
            any_ckpt,
            random_init=True,
            seed=seed,
            tsne=tsne,
            title=f'random init, seed {seed}',
            **probe)
        results.setdefault('random init',
                           []).append(dict(seed=seed, records=records))
    for arm, ckpt in ckpts.items():
        name = ARMS[arm]
        visualize([ckpt],
                  osp.join(work_dir, f'attention_{name}.png'),
                  sample='astronaut',
                  img_size=32,
                  names=[arm],
                  mean=norm['mean'],
                  std=norm['std'])
    for pair in (('SemanticMIM (HOG)', 'baseline (HOG)'),
                 ('SemanticMIM (pixel)', 'baseline (pixel)')):
        visualize([ckpts[pair[0]], ckpts[pair[1]]],
                  osp.join(
                      work_dir, 'attention_'
                      f"{ARMS[pair[0]].split('-')[1]}_side-by-side.png"),
                  sample='astronaut',
                  img_size=32,
                  names=list(pair),
                  mean=norm['mean'],
                  std=norm['std'])

    setting = (f"{data['caption']}; tiny ViT (4x96, 32 px, patch 4, 4 "
               f'proxies), {epochs} epochs x batch 64, seeds '
               f"{seeds}; pixel mean {channels(norm['mean'])}, std "
               f"{channels(norm['std'])}")
    layer_table = write_representation(
        {
            arm: mean_records([r['records'] for r in rows])
            for arm, rows in results.items()
        }, work_dir, f'{setting}; mean over seeds.')
    attention_table = attention_report(
        list(ckpts.values()),
        list(ckpts),
        work_dir,
        norm['mean'],
        norm['std'],
        caption=f"Attention of seed {seeds[0]}, over "
        f"{data_root}/val, 8 images a class",
        data_root=data_root,
        split='val',
        per_class=8)
    lines = [
        f'{setting}.', '',
        'Frozen features scored by k-NN and a linear probe on the val split '
        '(top-1 %, mean ± std over seeds). "last layer": mean-pooled patch '
        'tokens after the final norm; "best": the best layer (L0 = first) '
        'and feature (patch-mean, proxy-mean or both) of the seed-averaged '
        'layer-wise report; "proxy": the best layer of the proxy-mean '
        'features. Both are chosen on the val split they are scored on: '
        'upper bounds, not held-out figures.', '',
        '| arm | k-NN, last layer | linear, last layer | k-NN, best on val | '
        'linear, best on val | k-NN, proxy, best on val | '
        'linear, proxy, best on val |', '|---|---|---|---|---|---|---|'
    ]
    lines += [arm_row(arm, rows) for arm, rows in results.items()]
    lines += [
        '', f'Wall time: {time.time() - start:.0f} s.', '',
        '## Layer by layer (representation.md)', '', layer_table, '',
        '## Attention (attention.md)', '', attention_table
    ]
    table = '\n'.join(lines)
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write(table + '\n')
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(
            dict(
                data=data,
                norm=norm,
                epochs=epochs,
                seeds=seeds,
                results=results),
            f,
            indent=1)
    return table


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
