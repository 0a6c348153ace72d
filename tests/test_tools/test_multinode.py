"""Multi-node launch, proven on one machine: two torchrun "nodes" of one
process each (gloo over localhost) train to the same weights as one
process with the same global batch; the slurm line is checked dry."""
import os
import os.path as osp
import socket
import subprocess
import sys

import torch

from helpers import REPO, deterministic_config

TESTS = osp.dirname(osp.dirname(osp.abspath(__file__)))
ENV = dict(
    os.environ,
    PYTHON=sys.executable,
    PYTHONUNBUFFERED='1',
    OMP_NUM_THREADS='1',
    PYTHONPATH=TESTS + os.pathsep + os.environ.get('PYTHONPATH', ''))


def _config(tmp_path):
    """Deterministic per sample, with plain SGD: the only differences left
    are float reduction order."""
    return deterministic_config(
        tmp_path,
        extra="""
optim_wrapper = dict(optimizer=dict(_delete_=True, type='SGD', lr=0.05,
                                    momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='ConstantLR', factor=1.0)]
""")


def _opts(data_root, batch):
    return [
        '--cfg-options', f'train_dataloader.dataset.data_root={data_root}',
        f'train_dataloader.batch_size={batch}', 'train_cfg.max_epochs=2',
        'default_hooks.logger.interval=1', 'env_cfg.dist_cfg.backend=gloo'
    ]


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_nodes_train_like_one_process(image_folder, tmp_path):
    config = _config(tmp_path)
    one = str(tmp_path / 'one')
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', config, '--work-dir', one] +
        _opts(image_folder, 8),
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]

    two = str(tmp_path / 'two')
    port = str(_free_port())
    nodes = [
        subprocess.Popen(
            ['bash', 'tools/dist_train.sh', config, '1', '--work-dir', two] +
            _opts(image_folder, 4),
            cwd=REPO,
            env=dict(
                ENV,
                NNODES='2',
                NODE_RANK=str(rank),
                MASTER_ADDR='127.0.0.1',
                PORT=port),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True) for rank in (0, 1)
    ]
    logs = [n.communicate(timeout=600)[0] for n in nodes]
    assert all(n.returncode == 0 for n in nodes), '\n'.join(
        f'node {rank} (exit {n.returncode}):\n{log[-3000:]}'
        for rank, (n, log) in enumerate(zip(nodes, logs)))
    assert 'Distributed training: True' in logs[0]

    a = torch.load(osp.join(one, 'epoch_2.pth'))
    b = torch.load(osp.join(two, 'epoch_2.pth'))
    # 16 images: 2 epochs x 2 iterations, global batch 8 either way
    assert a['meta']['iter'] == b['meta']['iter'] == 4
    assert b['meta'].get('semanticmim_backbone') is not None
    moved = 0
    init = torch.load(osp.join(one, 'epoch_1.pth'))['state_dict']
    for k, v in a['state_dict'].items():
        # tolerance: float reduction order only (gloo all-reduce vs one
        # batch), 1e-5 on weights of order 0.1 after 4 SGD steps
        torch.testing.assert_close(
            b['state_dict'][k], v, rtol=0, atol=1e-5, msg=k)
        moved += not torch.equal(init[k], v)
    assert moved > 10  # the comparison is between trained weights


def test_slurm_line_dry_run():
    env = dict(
        ENV,
        DRY_RUN='1',
        GPUS='16',
        GPUS_PER_NODE='8',
        CPUS_PER_TASK='6',
        PYTHON='python')
    out = subprocess.run([
        'bash', 'tools/slurm_train.sh', 'gpu', 'smim', 'CONFIG.py',
        'work_dirs/x', '--amp'
    ],
                         cwd=REPO,
                         env=env,
                         capture_output=True,
                         text=True).stdout.split()
    assert out[1:] == [
        'srun', '-p', 'gpu', '--job-name=smim', '--nodes=2', '--gres=gpu:8',
        '--ntasks=16', '--ntasks-per-node=8', '--cpus-per-task=6',
        '--kill-on-bad-exit=1', 'python', '-u',
        osp.join(REPO, 'tools/train.py'), 'CONFIG.py',
        '--work-dir=work_dirs/x', '--launcher=slurm', '--amp'
    ]
    bad = subprocess.run(['bash', 'tools/slurm_train.sh', 'p', 'j', 'c', 'w'],
                         cwd=REPO,
                         env=dict(env, GPUS='12'),
                         capture_output=True,
                         text=True)
    assert bad.returncode == 2 and 'not a multiple' in bad.stderr
