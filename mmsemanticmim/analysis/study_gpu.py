"""The GPU study: the four arms at ViT-S/16 on N GPUs, then the
representation and attention reports on their final checkpoints
(``tools/analysis/semanticmim_study_gpu.py`` says what it measures)."""
import json
import os
import os.path as osp
import socket
import subprocess
import sys
import time
from argparse import Namespace
from typing import List, Optional

from mmsemanticmim.datasets.class_folder import describe_class_folder
from mmsemanticmim.utils.package_files import package_file

from .attention_report import attention_report
from .report_files import IMAGENET_NORM
from .representation_report import layer_report
from .representation_report import write_report as write_representation
from .study import ARMS as NAMED_ARMS

#: The toy study's arms, by config stem (the ``--arms`` choices).
ARMS = {stem: name for name, stem in NAMED_ARMS.items()}
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
            changed = {k: (saved.get(k), v) for k, v in settings.items()
                       if saved.get(k) != v}
            raise SystemExit(
                f'{work_dir} holds a run with other settings (was, now): '
                f'{changed}. Give another --work-dir, or remove the folder '
                'to train again.')
        return
    os.makedirs(work_dir, exist_ok=True)
    with open(path, 'w') as f:
        json.dump(settings, f, indent=1)


def pretrain(arm: str, data_root: str, work_dir: str, gpus: int,
             epochs: int, batch_size: Optional[int],
             cfg_options: List[str]) -> str:
    """Train one arm with tools/dist_train.sh; returns its final
    checkpoint (skipped when that exists already)."""
    check_settings(work_dir, dict(
        config=osp.basename(config_path(arm)), data_root=data_root,
        gpus=gpus, epochs=epochs, batch_size=batch_size,
        cfg_options=list(cfg_options)))
    final = osp.join(work_dir, f'epoch_{epochs}.pth')
    if osp.isfile(final):
        print(f'[study-gpu] {arm}: {final} exists, not trained again',
              flush=True)
        return final
    options = [f'train_dataloader.dataset.data_root={data_root}']
    if epochs != PRESET_EPOCHS:
        options += schedule_options(epochs)
    if batch_size:
        options.append(f'train_dataloader.batch_size={batch_size}')
    cmd = ['bash', package_file('tools', 'dist_train.sh'),
           config_path(arm), str(gpus), '--work-dir', work_dir,
           '--auto-scale-lr', '--auto-resume', '--cfg-options',
           *options, *cfg_options]
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
        ckpts[ARMS[arm]] = pretrain(
            arm, osp.abspath(args.data_root),
            osp.join(args.work_dir, arm), args.gpus, args.epochs,
            args.batch_size, args.cfg_options)
    trained = time.time() - start
    norm = IMAGENET_NORM
    per_class = args.max_per_class or None
    probe = dict(data_root=args.data_root, img_size=None,
                 max_per_class=per_class, device=args.device, **norm)
    results = {name: layer_report(ckpt, **probe)
               for name, ckpt in ckpts.items()}
    results['random init'] = layer_report(next(iter(ckpts.values())),
                                          random_init=True, **probe)
    setting = (f"{data['caption']}; ViT-S/16, {args.epochs} epochs on "
               f'{args.gpus} GPU(s)')
    probes = (f'up to {per_class} images a class' if per_class else
              'every image')
    layer_table = write_representation(
        results, args.work_dir, f'{setting}; probes on {probes}.')
    attention_table = attention_report(
        list(ckpts.values()), list(ckpts), args.work_dir, norm['mean'],
        norm['std'], device=args.device,
        caption=f'Attention over {args.data_root}/val, '
        f'{args.attention_per_class} images a class',
        data_root=args.data_root, split='val',
        per_class=args.attention_per_class)
    summary = '\n'.join([
        f'{setting}.', '', f'Pre-training: {trained:.0f} s; reports: '
        f'{time.time() - start - trained:.0f} s.', '',
        '## Layer by layer', '', layer_table, '', '## Attention', '',
        attention_table
    ])
    with open(osp.join(args.work_dir, 'summary.md'), 'w') as f:
        f.write(summary + '\n')
    return summary
