"""Sharded pre-training through mmengine (FlexibleRunner + FSDPStrategy,
`tools/train.py --fsdp`), on CPU with gloo and 2 processes: it trains like
DDP, writes one full checkpoint that every tool reads, resumes exactly, and
keeps per-parameter optimizer groups (layer decay, no-decay keys)."""
import json
import os
import os.path as osp
import shutil
import socket
import subprocess
import sys

import pytest
import torch

from mmsemanticmim.utils import torch_features
from helpers import REPO, deterministic_config

#: torch 2.1's FSDP cannot run on the CPU (a GPU-only torch feature there);
#: such a machine is refused up front (test_fsdp_refused_where_it_cannot_run)
needs_fsdp_here = pytest.mark.skipif(
    not torch.cuda.is_available() and not torch_features.fsdp_runs_on_cpu(),
    reason=f'torch {torch.__version__} has no CPU FSDP')

TESTS = osp.dirname(osp.dirname(osp.abspath(__file__)))
ENV = dict(
    os.environ,
    PYTHON=sys.executable,
    PYTHONUNBUFFERED='1',
    OMP_NUM_THREADS='1',
    PYTHONPATH=TESTS + os.pathsep + os.environ.get('PYTHONPATH', ''))


def _port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return str(s.getsockname()[1])


def _train(config, work, data_root, *flags):
    # max_norm 0.5 < the gradient norm (~2.4): clipping is active, so a
    # per-shard clip would show as a difference from DDP
    proc = subprocess.run([
        'bash', 'tools/dist_train.sh', config, '2', *flags, '--work-dir', work,
        '--cfg-options', f'train_dataloader.dataset.data_root='
        f'{data_root}', 'train_dataloader.batch_size=4',
        'train_cfg.max_epochs=2', 'optim_wrapper.clip_grad.max_norm=0.5',
        'default_hooks.logger.interval=1', 'env_cfg.dist_cfg.backend=gloo'
    ],
                          cwd=REPO,
                          env=dict(ENV, PORT=_port()),
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return proc.stdout + proc.stderr


@needs_fsdp_here
def test_fsdp_trains_like_ddp_saves_one_file_and_resumes(
        image_folder, tmp_path):
    config = deterministic_config(tmp_path)
    fsdp, ddp = str(tmp_path / 'fsdp'), str(tmp_path / 'ddp')
    log = _train(config, fsdp, image_folder, '--fsdp')
    assert 'FSDPStrategy' in log
    _train(config, ddp, image_folder)

    # one file per checkpoint, gathered on rank 0, with the encoder meta
    ckpt_path = osp.join(fsdp, 'epoch_2.pth')
    assert osp.isfile(ckpt_path) and not osp.exists(ckpt_path + '.tmp')
    a = torch.load(ckpt_path)
    b = torch.load(osp.join(ddp, 'epoch_2.pth'))
    assert a['meta']['iter'] == b['meta']['iter'] == 4
    assert a['meta']['semanticmim_backbone'] == \
        b['meta']['semanticmim_backbone']
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for k, v in b['state_dict'].items():
        # tolerance: all-reduce order only (seen: 0 with per-layer units,
        # 3e-7 with one root unit, after 4 AdamW steps)
        torch.testing.assert_close(
            a['state_dict'][k], v, rtol=0, atol=2e-6, msg=k)
    assert len(a['optimizer']['state']) == len(b['optimizer']['state'])

    # resume from epoch 1: the same epoch 2, exactly
    resumed = str(tmp_path / 'resumed')
    os.makedirs(resumed)
    shutil.copy(osp.join(fsdp, 'epoch_1.pth'), resumed)
    with open(osp.join(resumed, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(resumed, 'epoch_1.pth'))
    log = _train(config, resumed, image_folder, '--fsdp', '--resume')
    assert 'resumed epoch: 1, iter: 2' in log
    c = torch.load(osp.join(resumed, 'epoch_2.pth'))
    for k, v in a['state_dict'].items():
        torch.testing.assert_close(
            c['state_dict'][k], v, rtol=0, atol=0, msg=k)

    # every tool reads it: strict downstream loading and the extractor
    from mmsemanticmim.models import SemanticMIMViT
    enc = SemanticMIMViT.from_checkpoint(ckpt_path, out_type='raw')
    assert torch.equal(enc.layers[3].attn.qkv.weight,
                       a['state_dict']['backbone.layers.3.attn.qkv.weight'])
    from mmsemanticmim.checkpoint import extract_encoder as extract
    assert extract(ckpt_path, str(tmp_path / 'bb.pth')).num_proxy_tokens == 4


def test_layer_decay_under_fsdp(tmp_path):
    proc = subprocess.run([
        sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
        '--master_port',
        _port(), 'tests/dist_helpers.py',
        str(tmp_path)
    ],
                          cwd=REPO,
                          env=ENV,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    groups = json.loads(
        [line for line in proc.stdout.splitlines() if line.startswith('{')][0])
    # 4 layers + stem + rest: lr 0.5^(5 - depth), as without sharding
    lr = {k: v[0] for k, v in groups.items()}
    wd = {k: v[1] for k, v in groups.items()}
    assert lr['backbone.pos_embed'] == lr['backbone.proxy_tokens'] == 0.5**5
    assert lr['backbone.layers.0.attn.qkv.weight'] == 0.5**4
    assert lr['backbone.layers.3.ffn.layers.1.weight'] == 0.5**1
    assert lr['head.fc.weight'] == 1.0
    # no-decay keys by name still apply to the (flattened) parameters
    assert wd['backbone.layers.0.attn.qkv.bias'] == 0.
    assert wd['backbone.proxy_tokens'] == 0.
    assert wd['backbone.layers.0.attn.qkv.weight'] == 0.05
    # and the parameters really are sharded: rank 0 holds part of them
    total = sum(v[2] for v in groups.values())
    assert 0 < total < sum(p.numel() for p in __import__(
        'mmsemanticmim.models', fromlist=['SemanticMIMViT']
    ).SemanticMIMViT(
        arch=dict(
            embed_dims=96, num_layers=4, num_heads=3,
            feedforward_channels=384),
        img_size=32,
        patch_size=4,
        num_proxy_tokens=2).parameters())


def test_fsdp_refused_where_it_cannot_run(monkeypatch):
    """Without CUDA and without CPU FSDP in torch, an FSDP config is
    refused before anything is built, saying why and what to do."""
    from mmengine.config import Config

    from mmsemanticmim.engine.runners.build import FSDP_RUNTIME, prepare_config
    monkeypatch.setattr(torch_features, 'fsdp_runs_on_cpu', lambda: False)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = Config(dict(FSDP_RUNTIME))
    with pytest.raises(RuntimeError, match='FSDP on the CPU needs a torch'):
        prepare_config(cfg)
