"""Config helpers for tests that run the real Runner on tiny data, and a
way to run a tool as a user does."""
import os.path as osp
import subprocess
import sys

from mmengine.config import Config

from mmsemanticmim.engine import add_checkpoint_hooks

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY_CONFIGS = {
    target:
    osp.join(
        REPO, 'configs/semanticmim/semanticmim-'
        f'{target}_vit-tiny-p4_1xb64-coslr-10e_mnist-demo.py')
    for target in ('maskfeat', 'beit')
}


def tiny_cfg(path: str,
             data_root: str,
             work_dir: str,
             max_epochs: int = 1,
             batch_size: int = 8,
             constant_lr: bool = False) -> Config:
    """The config at ``path``, shrunk to a CPU test run on ``data_root``."""
    cfg = Config.fromfile(path)
    cfg.work_dir = work_dir
    cfg.train_dataloader.dataset.data_root = data_root
    cfg.train_dataloader.batch_size = batch_size
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    cfg.train_cfg.max_epochs = max_epochs
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 1
    cfg.default_hooks.checkpoint.max_keep_ckpts = 10
    if constant_lr:
        cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0)]
    add_checkpoint_hooks(cfg)
    return cfg


def deterministic_config(tmp_path, extra: str = '') -> str:
    """The tiny MaskFeat-target config made deterministic per sample (no
    random crop, masks seeded by the image path, no per-rank seed): runs
    that see the same samples in any split over processes compute the same
    numbers up to float reduction order. Needs ``tests/`` on PYTHONPATH
    (for ``dist_helpers``)."""
    path = tmp_path / 'deterministic.py'
    path.write_text(f'''
_base_ = [{TINY_CONFIGS['maskfeat']!r}]
custom_imports = dict(imports=['mmsemanticmim', 'dist_helpers'],
                      allow_failed_imports=False)
train_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(pipeline=[
        dict(type='StrictLoadImageFromFile'),
        dict(type='mmpretrain.Resize', scale=32),
        dict(type='PathSeededMaskGenerator', input_size=32,
             mask_patch_size=4, model_patch_size=4, mask_ratio=0.8),
        dict(type='PackInputs', algorithm_keys=['mask']),
    ]))
randomness = dict(seed=0, diff_rank_seed=False)
{extra}''')
    return str(path)


def run_tool(tool: str, *args: str) -> subprocess.CompletedProcess:
    """``python TOOL ARGS...`` from the checkout's root, as a user runs it
    (tools are scripts, never imported by tests); output captured."""
    return subprocess.run([sys.executable,
                           osp.join(REPO, tool), *args],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=900)
