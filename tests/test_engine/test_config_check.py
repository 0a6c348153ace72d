"""Keys that nothing reads are errors before anything is built."""
import os.path as osp

import pytest
from mmengine.config import Config

from mmsemanticmim.engine import prepare_config
from mmsemanticmim.engine.runners.config_check import (ConfigKeyError,
                                                       check_config_keys)
from helpers import TINY_CONFIGS

TINY = TINY_CONFIGS['maskfeat']


def _child(tmp_path, body: str) -> Config:
    path = tmp_path / 'mine.py'
    path.write_text(f"_base_ = [{TINY!r}]\n{body}\n")
    return Config.fromfile(str(path))


def test_shipped_tiny_config_passes():
    check_config_keys(Config.fromfile(TINY))


def test_misspelt_top_level_key_in_a_child_config(tmp_path):
    cfg = _child(tmp_path, 'optim_wraper = dict(optimizer=dict(lr=5e-5))')
    with pytest.raises(ConfigKeyError) as e:
        prepare_config(cfg)  # before the data roots are even looked at
    assert "optim_wraper: unknown top-level key; did you mean " \
        "'optim_wrapper'?" in str(e.value)
    assert 'mine.py' in str(e.value)


def test_misspelt_cfg_option():
    cfg = Config.fromfile(TINY)
    cfg.merge_from_dict({'train_dataloder.batch_size': 4})
    with pytest.raises(
            ConfigKeyError,
            match="train_dataloder: .*did you "
            "mean 'train_dataloader'"):
        check_config_keys(cfg)


def test_hook_argument_checked_against_the_hook_and_save_checkpoint():
    cfg = Config.fromfile(TINY)
    cfg.merge_from_dict({'default_hooks.checkpoint.max_keep_ckpt': 1})
    with pytest.raises(
            ConfigKeyError,
            match="default_hooks.checkpoint."
            "max_keep_ckpt: unknown key; did you mean "
            "'default_hooks.checkpoint.max_keep_ckpts'"):
        check_config_keys(cfg)
    cfg = Config.fromfile(TINY)
    cfg.custom_hooks = [
        dict(type='EmptyCacheHook', after_epoch=True, priorty='LOW')
    ]
    with pytest.raises(ConfigKeyError, match=r"custom_hooks\[0\].priorty"):
        check_config_keys(cfg)


@pytest.mark.parametrize('key, close', [
    ('val_dataloader.num_worker', 'val_dataloader.num_workers'),
    ('optim_wrapper.clip_gard', 'optim_wrapper.clip_grad'),
    ('optim_wrapper.optimizer.weight_decy',
     'optim_wrapper.optimizer.weight_decay'),
    ('train_cfg.max_epoch', 'train_cfg.max_epochs'),
    ('auto_scale_lr.base_bach_size', 'auto_scale_lr.base_batch_size'),
    ('randomness.sed', 'randomness.seed'),
])
def test_passed_through_dicts(key, close):
    cfg = Config.fromfile(TINY)
    cfg.merge_from_dict({key: 1})
    with pytest.raises(
            ConfigKeyError,
            match=f"{key}: unknown key; did you "
            f"mean '{close}'"):
        check_config_keys(cfg)


def test_helper_variables_pass(tmp_path):
    check_config_keys(
        _child(
            tmp_path, "_note = 'mine'\n"
            "crop = (64, 64)\nnorm_cfg = dict(type='LN')"))


def test_explicit_opt_out(tmp_path):
    cfg = _child(
        tmp_path, "optim_wrapers = dict(a=1)\n"
        "allow_unknown_keys = ['optim_wrapers', 'train_cfg.my_flag']")
    cfg.merge_from_dict({'train_cfg.my_flag': True})
    check_config_keys(cfg)
    cfg.merge_from_dict({'train_cfg.other': True})
    with pytest.raises(ConfigKeyError, match='train_cfg.other'):
        check_config_keys(cfg)
    cfg.allow_unknown_keys = True
    check_config_keys(cfg)


def test_train_tool_refuses_before_compute(tmp_path):
    import subprocess
    import sys

    from helpers import REPO
    path = tmp_path / 'mine.py'
    path.write_text(f"_base_ = [{TINY!r}]\n"
                    "optim_wraper = dict(optimizer=dict(lr=5e-5))\n")
    run = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools', 'train.py'),
        str(path), '--work-dir',
        str(tmp_path / 'w')
    ],
                         capture_output=True,
                         text=True)
    assert run.returncode != 0
    assert "did you mean 'optim_wrapper'" in run.stderr
    assert not (tmp_path / 'w').exists()  # nothing was built
