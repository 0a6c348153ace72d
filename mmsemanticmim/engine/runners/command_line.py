"""The command lines of ``tools/train.py`` and ``tools/test.py``: their
parsers, how the flags fold into a config, and the run. The tools parse and
call; tests drive these functions in-process."""
import argparse
import contextlib
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction

from mmsemanticmim.checkpoint import read_checkpoint, trust_checkpoint
from mmsemanticmim.checkpoint.work_dir import resumable_checkpoint
from mmsemanticmim.utils.setup_env import setup_env
from ..hooks.resume_guard_hook import SETTINGS
from ..launch import (close_distributed, dist_timeout, explain_dist_timeout,
                      init_distributed)
from .build import (backbone_for_resume, backbone_from_checkpoint,
                    build_runner, prepare_config, use_fsdp)
from .safe_runner import SafeFlexibleRunner, SafeRunner


def build_train_parser() -> argparse.ArgumentParser:
    """The command line of ``tools/train.py``."""
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
        '--amp',
        action='store_true',
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
    return parser


def merge_train_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Fold ``tools/train.py``'s command line into the config."""
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
        init.update(
            type='Pretrained',
            checkpoint=args.pretrained,
            prefix=args.pretrained_prefix)
        cfg.model.backbone.init_cfg = init
    if cfg.get('resume', False):
        out_dir = ((cfg.get('default_hooks') or {}).get('checkpoint')
                   or {}).get('out_dir')
        out_dirs = [
            osp.join(out_dir, osp.basename(osp.abspath(cfg.work_dir)))
        ] if isinstance(out_dir, str) else []
        source = cfg.get('load_from') or (resumable_checkpoint(
            cfg.work_dir, out_dirs) if osp.isdir(cfg.work_dir) else None)
        if source is not None:
            backbone_for_resume(cfg, source)
    if args.amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if str(wrapper).split('.')[-1] not in ('OptimWrapper',
                                               'AmpOptimWrapper',
                                               'DeviceAmpOptimWrapper'):
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
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
        wrapper['device_ids'] = None
        cfg.model_wrapper_cfg = wrapper
    prepare_config(cfg)
    return cfg


def _local_rank(args: argparse.Namespace) -> None:
    # torch.distributed.launch passes --local-rank; mmengine reads the env
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)


def run_train(args: argparse.Namespace) -> None:
    """``tools/train.py``: trust the named files, fold the flags into the
    config, start the process group and train."""
    _local_rank(args)
    setup_env(trust_flag='--trust-checkpoint')
    for path in args.trust_checkpoint:
        trust_checkpoint(path)
    cfg = merge_train_args(Config.fromfile(args.config), args)
    dist_timeout(cfg)  # a bad value fails here, on every launcher
    init_distributed(cfg.launcher, cfg)
    runner = build_runner(cfg)
    with _timeouts_named(cfg):
        runner.train()
        close_distributed()


@contextlib.contextmanager
def _timeouts_named(cfg):
    """A collective that timed out (a hung or stopped rank) is raised as
    :class:`DistTimeoutError` naming the configured timeout."""
    try:
        yield
    except RuntimeError as error:
        explained = explain_dist_timeout(error, cfg)
        if explained is None:
            raise
        raise explained from error


def build_test_parser() -> argparse.ArgumentParser:
    """The command line of ``tools/test.py``."""
    parser = argparse.ArgumentParser(description='Evaluate a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where to write logs and metrics')
    parser.add_argument('--out', help='dump predictions to this pickle file')
    parser.add_argument(
        '--non-strict',
        action='store_true',
        help='evaluate even if the checkpoint does not fit the model: what '
        'fits is loaded, and a warning is printed beside the metrics')
    parser.add_argument(
        '--trust-checkpoint',
        action='append',
        default=[],
        metavar='PATH',
        help='allow full unpickling of this file (only for files you trust)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser


def run_test(args: argparse.Namespace) -> dict:
    """``tools/test.py``: evaluate ``args.checkpoint`` with ``args.config``
    strictly (a misfit fails before any metric, unless ``--non-strict``,
    which logs a warning beside them) and return the metrics."""
    _local_rank(args)
    setup_env(trust_flag='--trust-checkpoint')
    for path in args.trust_checkpoint:
        trust_checkpoint(path)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} not found')
    # before anything is built: a truncated, foreign or code-carrying
    # file raises here, naming the file and why (tensors are mapped, not
    # read, where torch can; a legacy, non-zip torch file loads and goes on)
    read_checkpoint(args.checkpoint, mmap=True)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    # None encoder settings come from the checkpoint under test
    backbone_from_checkpoint(cfg, args.checkpoint)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs',
        osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if cfg.get('test_dataloader') is None or cfg.get('test_evaluator') is None:
        raise ValueError(f'{args.config} has no test_dataloader / '
                         'test_evaluator: it is not an evaluation config '
                         '(pre-training configs have none).')
    if args.out:
        cfg.test_evaluator = [cfg.test_evaluator] if isinstance(
            cfg.test_evaluator, dict) else list(cfg.test_evaluator)
        cfg.test_evaluator.append(
            dict(type='DumpResults', out_file_path=args.out))
    prepare_config(cfg, splits=('test_dataloader', ))
    # an evaluation, not a training run: it may share a training run's
    # work dir (no work dir lock) and builds nothing of training
    cfg.train_dataloader = cfg.train_cfg = cfg.optim_wrapper = None
    cfg.param_scheduler = None
    init_distributed(cfg.launcher, cfg)
    runner = build_runner(cfg, strict_load=not args.non_strict)
    if not isinstance(runner, (SafeRunner, SafeFlexibleRunner)):
        raise ValueError(
            f'runner_type={cfg.runner_type!r} would load {args.checkpoint} '
            'without the strict checks: evaluate with mmsemanticmim\'s '
            'SafeRunner / SafeFlexibleRunner (remove runner_type).')
    with _timeouts_named(cfg):
        metrics = runner.test()
        close_distributed()
    report = getattr(runner, 'load_report', None)
    if report:
        runner.logger.warning(
            'These metrics are of a partially loaded model (--non-strict): '
            f"{len(report['missing'])} missing, "
            f"{len(report['unexpected'])} unexpected and "
            f"{len(report['mismatched'])} mismatched keys of "
            f"{report['checkpoint']} (see above).")
    return {
        k: float(v) if hasattr(v, '__float__') else v
        for k, v in metrics.items()
    }
