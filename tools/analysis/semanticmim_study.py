"""The paper's two claims at toy scale, on the embedded digits, on CPU.

Arms, each with the same budget (epochs, batch, lr, schedule, seeds): the
tiny SemanticMIM and its MIM baseline for the HOG target and for the
normalised-pixel target, plus a randomly initialised encoder of the same
architecture as the floor. Each trained arm pre-trains on the 4,000 train
digits (labels unused), then its frozen features are scored by k-NN (k=20,
cosine, T=0.07) and a logistic-regression probe on the 1,000 val digits.
Writes into WORK_DIR: ``results.md`` (mean +- std over seeds), ``results
.json``, one attention PNG per arm (seed 0, same image) and one t-SNE PNG
per arm (seed 0).

Model and image size: the demo's tiny ViT (4 layers, width 96, 3 heads),
32x32 inputs, 4-pixel patches (8x8 grid), 4 proxies; mask ratio 0.8 with the
bottleneck, 0.4 without (the reference's MaskFeat ratios). With the default
8 epochs x 63 iterations the whole study takes about 30 minutes on 2 cores.

Usage: python tools/analysis/semanticmim_study.py [--work-dir DIR]
           [--epochs 8] [--seeds 0 1 2] [--data-root data/mnist_demo]
"""
import argparse
import json
import os
import os.path as osp
import statistics
import sys
import time

import mmsemanticmim  # noqa: F401  (compat guards first)
from mmengine.config import Config
from mmengine.runner import Runner

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
sys.path.insert(0, HERE)
from eval_frozen_features import (MNIST_DEMO_NORM, evaluate,  # noqa: E402
                                  frozen_encoder)
from visualize_attention import visualize  # noqa: E402

from mmsemanticmim.engine import add_checkpoint_hooks  # noqa: E402

CONFIGS = osp.join(REPO, 'configs', 'semanticmim')
ARMS = {
    'SemanticMIM (HOG)': 'semanticmim-maskfeat',
    'baseline (HOG)': 'baseline-maskfeat',
    'SemanticMIM (pixel)': 'semanticmim-pixel',
    'baseline (pixel)': 'baseline-pixel',
}
SUFFIX = '_vit-tiny-p4_1xb64-coslr-10e_mnist-demo.py'


def pretrain(name: str, data_root: str, work_dir: str, epochs: int,
             seed: int) -> str:
    cfg = Config.fromfile(osp.join(CONFIGS, name + SUFFIX))
    cfg.work_dir = work_dir
    cfg.experiment_name = f'{name}_seed{seed}_{time.time_ns()}'
    cfg.train_dataloader.dataset.data_root = data_root
    cfg.train_dataloader.num_workers = 1
    cfg.train_dataloader.persistent_workers = False
    cfg.train_cfg.max_epochs = epochs
    # the same schedule shape for every arm, stretched to the epochs given
    cfg.param_scheduler[-1].end = epochs
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook',
                                        interval=epochs, max_keep_ckpts=1)
    cfg.default_hooks.logger.interval = 50
    add_checkpoint_hooks(cfg)
    Runner.from_cfg(cfg).train()
    return osp.join(work_dir, f'epoch_{epochs}.pth')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/study')
    parser.add_argument('--data-root', default='data/mnist_demo')
    parser.add_argument('--epochs', type=int, default=8)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error('--epochs must be >= 2 (1 warm-up epoch, then cosine)')
    if not osp.isdir(osp.join(args.data_root, 'train')):
        raise FileNotFoundError(
            f'{args.data_root}/train not found: run python tools/'
            'dataset_converters/mnist_to_folder.py ' + args.data_root)
    os.makedirs(args.work_dir, exist_ok=True)
    start = time.time()
    results, ckpts = {}, {}
    norm = MNIST_DEMO_NORM
    for arm, name in ARMS.items():
        for seed in args.seeds:
            run_dir = osp.join(args.work_dir, f'{name}_seed{seed}')
            ckpt = pretrain(name, args.data_root, run_dir, args.epochs, seed)
            ckpts.setdefault(arm, ckpt)
            tsne = osp.join(args.work_dir, f'tsne_{name}.png') \
                if seed == args.seeds[0] else None
            score = evaluate(frozen_encoder(ckpt), args.data_root, 32,
                             norm['mean'], norm['std'], tsne=tsne,
                             title=f'{arm}, seed {seed}')
            results.setdefault(arm, []).append(dict(seed=seed, **score))
            print(f'[study] {arm} seed {seed}: {score} '
                  f'({time.time() - start:.0f} s)', flush=True)
    any_ckpt = next(iter(ckpts.values()))
    for seed in args.seeds:
        tsne = osp.join(args.work_dir, 'tsne_random-init.png') \
            if seed == args.seeds[0] else None
        score = evaluate(frozen_encoder(any_ckpt, random_init=True,
                                        seed=seed), args.data_root, 32,
                         norm['mean'], norm['std'], tsne=tsne,
                         title=f'random init, seed {seed}')
        results.setdefault('random init', []).append(dict(seed=seed,
                                                          **score))
    for arm, ckpt in ckpts.items():
        name = ARMS[arm]
        visualize([ckpt], osp.join(args.work_dir, f'attention_{name}.png'),
                  sample='astronaut', img_size=32, names=[arm])
    for pair in (('SemanticMIM (HOG)', 'baseline (HOG)'),
                 ('SemanticMIM (pixel)', 'baseline (pixel)')):
        visualize([ckpts[pair[0]], ckpts[pair[1]]],
                  osp.join(args.work_dir, 'attention_'
                           f"{ARMS[pair[0]].split('-')[1]}_side-by-side.png"),
                  sample='astronaut', img_size=32, names=list(pair))

    def stat(values):
        sd = statistics.stdev(values) if len(values) > 1 else 0.
        return f'{statistics.mean(values):.1f} ± {sd:.1f}'

    lines = [
        f'Embedded digits (4,000 train / 1,000 val), tiny ViT (4x96, 32 px, '
        f'patch 4, 4 proxies), {args.epochs} epochs x batch 64, seeds '
        f'{args.seeds}; frozen mean-pooled patch features.', '',
        '| arm | k-NN top-1 (%) | linear probe top-1 (%) |',
        '|---|---|---|'
    ]
    for arm, rows in results.items():
        lines.append(f"| {arm} | {stat([r['knn'] for r in rows])} | "
                     f"{stat([r['linear'] for r in rows])} |")
    lines += ['', f'Wall time: {time.time() - start:.0f} s.']
    table = '\n'.join(lines)
    with open(osp.join(args.work_dir, 'results.md'), 'w') as f:
        f.write(table + '\n')
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump(results, f, indent=1)
    print(table)


if __name__ == '__main__':
    main()
