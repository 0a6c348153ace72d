"""Train any mmsemanticmim config: pre-training (mmpretrain scope) and the
downstream mmpretrain / mmseg / mmdet configs alike; the config's
``default_scope`` decides which toolbox's registries build it."""
import argparse
import os
import os.path as osp

import mmsemanticmim  # noqa: F401  (compat guards before any other import)
import torch
from mmengine.config import Config, DictAction

from mmsemanticmim.engine import (build_runner, init_distributed,
                                  prepare_config, use_fsdp)
from mmsemanticmim.engine.hooks.resume_guard_hook import SETTINGS
from mmsemanticmim.utils import trust_checkpoint


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint; without a path, from the latest '
        'readable checkpoint in the work dir (an error if there is none)')
    parser.add_argument(
        '--auto-resume',
        action='store_true',
        help='resume from the latest readable checkpoint in the work dir if '
        'there is one, else start from scratch (for preemptible jobs)')
    parser.add_argument(
        '--resume-changed',
        nargs='+',
        choices=list(SETTINGS) + ['all'],
        metavar='SETTING',
        help='resume although the config changed these settings of the '
        f'checkpoint ({", ".join(SETTINGS)}, or all); without it such a '
        'resume is refused, naming old and new values')
    parser.add_argument(
        '--non-strict',
        action='store_true',
        help='load_from: load the weights that fit and warn about the rest '
        '(default: a checkpoint that does not fit is an error)')
    parser.add_argument(
        '--amp', action='store_true',
        help='mixed precision: bf16 autocast (CPU, bf16 GPUs), else fp16 '
        'with a dynamic loss scale')
    parser.add_argument(
        '--fsdp',
        action='store_true',
        help='shard parameters, gradients and optimizer state over the '
        'processes (FlexibleRunner + FSDPStrategy, full single-file '
        'checkpoints); with --launcher pytorch / slurm')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by the actual batch size (auto_scale_lr)')
    parser.add_argument(
        '--pretrained',
        metavar='PATH',
        help="initialise model.backbone from this checkpoint "
        "(init_cfg=Pretrained; any path, spaces included)")
    parser.add_argument(
        '--pretrained-prefix',
        default='backbone.',
        metavar='PREFIX',
        help="with --pretrained: the backbone's key prefix in the file "
        "('backbone.': a pre-training checkpoint; '' for an extracted "
        'backbone)')
    parser.add_argument(
        '--trust-checkpoint',
        action='append',
        default=[],
        metavar='PATH',
        help='allow full unpickling of this checkpoint (only for files you '
        'trust: unpickling can run code); may be repeated')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value (e.g. '
        'train_dataloader.batch_size=32)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank / --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args) -> Config:
    """Fold the command line into the config."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.resume == 'auto' or args.auto_resume:
        if args.auto_resume:  # nothing to resume: start from load_from
            cfg.auto_resume_load_from = cfg.get('load_from', None)
        cfg.resume = True
        cfg.load_from = None
        cfg.auto_resume = bool(args.auto_resume)
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.resume_changed:
        if not cfg.get('resume', False):
            raise ValueError('--resume-changed applies to --resume / '
                             '--auto-resume only')
        cfg.resume_changed = list(args.resume_changed)
    if args.non_strict:
        cfg.strict_load = False

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.pretrained is not None:
        if not osp.isfile(args.pretrained):
            raise FileNotFoundError(
                f'--pretrained {args.pretrained}: no such file')
        if not cfg.get('model', {}).get('backbone'):
            raise ValueError(f'--pretrained: {args.config} has no '
                             'model.backbone to initialise')
        init = dict(cfg.model.backbone.get('init_cfg') or {})
        init.update(type='Pretrained', checkpoint=args.pretrained,
                    prefix=args.pretrained_prefix)
        cfg.model.backbone.init_cfg = init
    if args.amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if str(wrapper).split('.')[-1] not in (
                'OptimWrapper', 'AmpOptimWrapper', 'DeviceAmpOptimWrapper'):
            raise ValueError(f'--amp needs an OptimWrapper, the config has '
                             f'{wrapper}')
        # bf16 (fp16 + loss scale on GPUs without bf16), on the CPU too
        cfg.optim_wrapper.type = 'mmsemanticmim.DeviceAmpOptimWrapper'
        cfg.optim_wrapper.cpu_autocast = True
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        if not cfg.get('auto_scale_lr', None):
            raise ValueError(
                f'--auto-scale-lr needs auto_scale_lr=dict(base_batch_size='
                f'...) in {args.config}: add it, or --cfg-options '
                'auto_scale_lr.base_batch_size=N')
        cfg.auto_scale_lr.enable = True
    if args.fsdp:
        use_fsdp(cfg)
    elif args.launcher != 'none' and not torch.cuda.is_available():
        # CPU DDP: mmengine's wrapper pins device_ids to the local rank,
        # which only GPU modules accept; CPU modules need device_ids=None.
        wrapper = cfg.get('model_wrapper_cfg', None) or dict(
            type='MMDistributedDataParallel', broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
        wrapper['device_ids'] = None
        cfg.model_wrapper_cfg = wrapper
    prepare_config(cfg)
    return cfg


def main():
    args = parse_args()
    for path in args.trust_checkpoint:
        trust_checkpoint(path)
    cfg = merge_args(Config.fromfile(args.config), args)
    init_distributed(cfg.launcher, cfg)
    build_runner(cfg).train()


if __name__ == '__main__':
    main()
