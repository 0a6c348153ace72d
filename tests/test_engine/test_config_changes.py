"""A config that does not name our runner, strategy and hooks gets them,
and the tools say so: one log line for each thing swapped or added."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from mmsemanticmim.engine import add_checkpoint_hooks, prepare_config
from mmsemanticmim.engine.runners import build
from helpers import REPO, TINY_CONFIGS, tiny_cfg

STOCK_MAE = 'mmpretrain::mae/mae_vit-base-p16_8xb512-amp-coslr-300e_in1k.py'


@pytest.fixture
def said(monkeypatch):
    lines = []
    monkeypatch.setattr(build, 'print_log',
                        lambda msg, **kwargs: lines.append(msg))
    return lines


def test_a_stock_mmpretrain_config_gets_each_change_logged(
        said, image_folder, tmp_path):
    user = tmp_path / 'mae_user.py'
    user.write_text(f'_base_ = {STOCK_MAE!r}\n')
    cfg = Config.fromfile(str(user))
    cfg.train_dataloader.dataset.data_root = image_folder
    cfg.train_dataloader.dataset.pop('split', None)
    cfg.train_dataloader.dataset.pop('ann_file', None)
    cfg.train_dataloader.num_workers = 0
    assert 'runner_type' not in cfg and 'custom_hooks' not in cfg
    prepare_config(cfg)
    build.use_safe_runner(cfg)
    prefix = 'Config changed by mmsemanticmim: '
    assert all(line.startswith(prefix) and line.endswith('.') for line in said)
    changes = [line[len(prefix):-1] for line in said]
    hooks = [
        f'mmsemanticmim.{name}'
        for name in ('SafeCheckpointHook', 'BackboneMetaHook',
                     'ResumeGuardHook', 'NonFiniteLossHook')
    ]
    assert [c for c in changes if c.startswith('custom_hooks')
            ] == [f'custom_hooks += {h}' for h in hooks]
    assert 'train_dataloader.persistent_workers dropped (num_workers=0)' \
        in changes
    assert changes[-1].startswith('runner_type=Runner -> SafeRunner (')
    assert len(changes) == 6  # nothing else changed, nothing unsaid
    assert cfg.runner_type == 'SafeRunner'
    assert [h['type'] for h in cfg.custom_hooks] == hooks


def test_fsdp_strategy_swap_is_logged(said):
    cfg = Config(
        dict(runner_type='FlexibleRunner', strategy=dict(type='FSDPStrategy')))
    build.use_safe_runner(cfg)
    assert cfg.runner_type == 'SafeFlexibleRunner'
    assert cfg.strategy.type == 'SafeFSDPStrategy'
    assert [line.split(': ')[1].split(' (')[0] for line in said] == [
        'strategy.type=FSDPStrategy -> SafeFSDPStrategy',
        'runner_type=FlexibleRunner -> SafeFlexibleRunner'
    ]


SHIPPED = sorted(
    osp.relpath(p, REPO) for p in glob.glob(
        osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if f'{osp.sep}_base_{osp.sep}' not in p)


@pytest.mark.parametrize('config', SHIPPED)
def test_our_configs_name_what_they_run(said, config):
    """Every shipped config (pre-training through our base runtime,
    downstream through configs/benchmarks/_base_/semanticmim_runtime.py)
    names the runner, strategy and hooks the tools run: nothing is swapped
    or added, nothing said."""
    cfg = Config.fromfile(osp.join(REPO, config))
    assert add_checkpoint_hooks(cfg) == []
    build.use_safe_runner(cfg)
    assert said == []
    assert cfg.runner_type in ('SafeRunner', 'SafeFlexibleRunner')


def test_shrunk_configs_say_nothing(said, image_folder, tmp_path):
    """The whole preparation of a tool, on a config of ours: silent."""
    cfg = tiny_cfg(TINY_CONFIGS['maskfeat'], image_folder, str(tmp_path))
    prepare_config(cfg)
    build.use_safe_runner(cfg)
    assert said == []
