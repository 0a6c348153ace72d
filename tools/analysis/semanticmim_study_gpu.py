"""Check the claim on your data: the four study arms at ViT-S/16 on N GPUs.

Pre-trains each arm of the GPU study preset (SemanticMIM and its MIM
baseline, for the HOG and the normalised-pixel target:
``configs/semanticmim/*_vit-small-p16_8xb128-amp-coslr-100e_in100.py``) on
an ImageNet-format folder with ``tools/dist_train.sh``, then runs the
layer-wise representation report (k-NN and linear probe of patch-mean,
proxy-mean and concatenated features per layer, plus a randomly
initialised ViT-S) and the attention report (mean distance, entropy, proxy
share per layer and head) on the four final checkpoints.

DATA holds ``train/<class>/*`` and ``val/<class>/*`` (e.g. ImageNet-100).
The lr follows the real batch (``--auto-scale-lr``: 8e-4 at 1024 images);
an arm whose final checkpoint exists is not trained again, and an
interrupted one resumes (``--auto-resume``); each arm's folder records its
settings (``study_settings.json``) and is refused for other settings.
Writes into WORK_DIR: one folder per arm, ``representation.{md,json,png}``,
``attention.{md,json,png}`` and ``summary.md``.

Usage:
    python tools/analysis/semanticmim_study_gpu.py --data-root DATA
        --gpus 8 [--work-dir work_dirs/study_gpu] [--epochs 100]
        [--batch-size 128] [--arms semanticmim-maskfeat ...]
        [--max-per-class 100] [--attention-per-class 2] [--device cuda]
        [--cfg-options KEY=VALUE ...]
"""
import argparse
import json
import os
import os.path as osp
import socket
import subprocess
import sys
import time
from argparse import Namespace
from typing import List, Optional

import torch

import mmsemanticmim  # registers the components
from mmsemanticmim.analysis import (IMAGENET_NORM, attention_report,
                                    layer_report, write_representation)
from mmsemanticmim.datasets.class_folder import describe_class_folder
from mmsemanticmim.utils.package_files import package_file

#: Each arm's config stem (the ``--arms`` choices) and its name in the
#: tables (those of the toy study, tools/analysis/semanticmim_study.py).
ARMS = {
    'semanticmim-maskfeat': 'SemanticMIM (HOG)',
    'baseline-maskfeat': 'baseline (HOG)',
    'semanticmim-pixel': 'SemanticMIM (pixel)',
    'baseline-pixel': 'baseline (pixel)',
}
SUFFIX = '_vit-small-p16_8xb128-amp-coslr-100e_in100.py'
PRESET_EPOCHS = 100
SETTINGS_FILE = 'study_settings.json'


def config_path(arm: str) -> str:
    """The preset config of ``arm``."""
    return package_file('configs', 'semanticmim', arm + SUFFIX)


def schedule_options(epochs: int) -> List[str]:
    """The preset's schedule stretched to ``epochs``: a tenth of warm-up
    (at least one epoch), cosine for the rest."""
    warm = max(1, epochs // 10)
    return [
        f'train_cfg.max_epochs={epochs}', f'param_scheduler.0.end={warm}',
        f'param_scheduler.1.begin={warm}', f'param_scheduler.1.end={epochs}',
        f'param_scheduler.1.T_max={max(1, epochs - warm)}'
    ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def check_settings(work_dir: str, settings: dict) -> None:
    """Record an arm's settings in its folder; refuse a folder trained
    with others (a resumed or reused run would silently mix them)."""
    path = osp.join(work_dir, SETTINGS_FILE)
    if osp.isfile(path):
        with open(path) as f:
            saved = json.load(f)
        if saved != settings:
            changed = {
                k: (saved.get(k), v)
                for k, v in settings.items() if saved.get(k) != v
            }
            raise SystemExit(
                f'{work_dir} holds a run with other settings (was, now): '
                f'{changed}. Give another --work-dir, or remove the folder '
                'to train again.')
        return
    os.makedirs(work_dir, exist_ok=True)
    with open(path, 'w') as f:
        json.dump(settings, f, indent=1)


def pretrain(arm: str, data_root: str, work_dir: str, gpus: int, epochs: int,
             batch_size: Optional[int], cfg_options: List[str]) -> str:
    """Train one arm with tools/dist_train.sh; returns its final
    checkpoint (skipped when that exists already)."""
    check_settings(
        work_dir,
        dict(
            config=osp.basename(config_path(arm)),
            data_root=data_root,
            gpus=gpus,
            epochs=epochs,
            batch_size=batch_size,
            cfg_options=list(cfg_options)))
    final = osp.join(work_dir, f'epoch_{epochs}.pth')
    if osp.isfile(final):
        print(
            f'[study-gpu] {arm}: {final} exists, not trained again',
            flush=True)
        return final
    options = [f'train_dataloader.dataset.data_root={data_root}']
    if epochs != PRESET_EPOCHS:
        options += schedule_options(epochs)
    if batch_size:
        options.append(f'train_dataloader.batch_size={batch_size}')
    cmd = [
        'bash',
        package_file('tools', 'dist_train.sh'),
        config_path(arm),
        str(gpus), '--work-dir', work_dir, '--auto-scale-lr', '--auto-resume',
        '--cfg-options', *options, *cfg_options
    ]
    env = dict(os.environ, PORT=str(_free_port()), PYTHON=sys.executable)
    print('[study-gpu] ' + ' '.join(cmd), flush=True)
    subprocess.run(cmd, env=env, check=True)
    if not osp.isfile(final):
        raise RuntimeError(f'{arm}: training ended without {final}')
    return final


def run_study(args: Namespace) -> str:
    """Train every arm of ``args.arms`` and write the reports and
    ``summary.md`` into ``args.work_dir``; returns the summary.

    Args:
        args (Namespace): The tool's arguments (data_root, gpus, work_dir,
            epochs, batch_size, arms, max_per_class, attention_per_class,
            device, cfg_options).

    Returns:
        str: The summary (``summary.md``).
    """
    data = describe_class_folder(args.data_root)  # fails early if absent
    start = time.time()
    ckpts = {}
    for arm in args.arms:
        ckpts[ARMS[arm]] = pretrain(arm, osp.abspath(args.data_root),
                                    osp.join(args.work_dir,
                                             arm), args.gpus, args.epochs,
                                    args.batch_size, args.cfg_options)
    trained = time.time() - start
    norm = IMAGENET_NORM
    per_class = args.max_per_class or None
    probe = dict(
        data_root=args.data_root,
        img_size=None,
        max_per_class=per_class,
        device=args.device,
        **norm)
    results = {
        name: layer_report(ckpt, **probe)
        for name, ckpt in ckpts.items()
    }
    results['random init'] = layer_report(
        next(iter(ckpts.values())), random_init=True, **probe)
    setting = (f"{data['caption']}; ViT-S/16, {args.epochs} epochs on "
               f'{args.gpus} GPU(s)')
    probes = (f'up to {per_class} images a class'
              if per_class else 'every image')
    layer_table = write_representation(results, args.work_dir,
                                       f'{setting}; probes on {probes}.')
    attention_table = attention_report(
        list(ckpts.values()),
        list(ckpts),
        args.work_dir,
        norm['mean'],
        norm['std'],
        device=args.device,
        caption=f'Attention over {args.data_root}/val, '
        f'{args.attention_per_class} images a class',
        data_root=args.data_root,
        split='val',
        per_class=args.attention_per_class)
    summary = '\n'.join([
        f'{setting}.', '', f'Pre-training: {trained:.0f} s; reports: '
        f'{time.time() - start - trained:.0f} s.', '', '## Layer by layer', '',
        layer_table, '', '## Attention', '', attention_table
    ])
    with open(osp.join(args.work_dir, 'summary.md'), 'w') as f:
        f.write(summary + '\n')
    return summary


def main(argv=None):
    mmsemanticmim.setup_env()  # weights-only checkpoint loading
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', required=True)
    parser.add_argument(
        '--gpus', type=int, required=True, help='processes (GPUs) per arm')
    parser.add_argument('--work-dir', default='work_dirs/study_gpu')
    parser.add_argument('--epochs', type=int, default=PRESET_EPOCHS)
    parser.add_argument(
        '--batch-size',
        type=int,
        help='images per GPU (default: the config\'s 128)')
    parser.add_argument(
        '--arms', nargs='+', choices=list(ARMS), default=list(ARMS))
    parser.add_argument(
        '--max-per-class',
        type=int,
        default=100,
        help='images of each class the probes use (0: all)')
    parser.add_argument('--attention-per-class', type=int, default=2)
    parser.add_argument(
        '--device',
        default='cuda' if torch.cuda.is_available() else 'cpu',
        help='where the reports run')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='more KEY=VALUE overrides for every arm')
    args = parser.parse_args(argv)
    if args.gpus < 1:
        parser.error('--gpus must be >= 1')
    if args.epochs < 2:
        parser.error('--epochs must be >= 2 (warm-up, then cosine)')
    print(run_study(args))


if __name__ == '__main__':
    main()
