"""tools/train.py end to end, single process and 2-process (gloo) DDP."""
import os
import os.path as osp
import subprocess
import sys

import torch

from helpers import REPO, TINY_CONFIGS

ENV = dict(
    os.environ,
    PYTHON=sys.executable,
    PYTHONUNBUFFERED='1',
    OMP_NUM_THREADS='1')


def _opts(data_root, epochs):
    return [
        '--cfg-options', f'train_dataloader.dataset.data_root={data_root}',
        'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        f'train_cfg.max_epochs={epochs}', 'default_hooks.logger.interval=1'
    ]


def _run(cmd):
    proc = subprocess.run(
        cmd, cwd=REPO, env=ENV, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_train_then_resume_cli(image_folder, tmp_path):
    work = str(tmp_path / 'w')
    train = [
        sys.executable, 'tools/train.py', TINY_CONFIGS['maskfeat'],
        '--work-dir', work
    ]
    _run(train + _opts(image_folder, 1))
    assert osp.exists(osp.join(work, 'epoch_1.pth'))
    # one epoch more than the run was built for: accepted by name
    log = _run(train + ['--resume', '--resume-changed', 'max_epochs'] +
               _opts(image_folder, 2))
    assert 'resumed epoch: 1, iter: 4' in log
    assert 'max_epochs: checkpoint 1, config 2' in log
    ckpt = torch.load(osp.join(work, 'epoch_2.pth'))
    assert ckpt['meta']['iter'] == 8


def test_two_process_gloo_training(image_folder, tmp_path):
    work = str(tmp_path / 'dist')
    log = _run([
        'bash', 'tools/dist_train.sh', TINY_CONFIGS['maskfeat'], '2',
        '--work-dir', work
    ] + _opts(image_folder, 1) + ['env_cfg.dist_cfg.backend=gloo'])
    assert 'Distributed training: True' in log
    ckpt = torch.load(osp.join(work, 'epoch_1.pth'))
    # 16 images, 2 ranks x batch 4: 2 iterations per epoch.
    assert ckpt['meta']['iter'] == 2
