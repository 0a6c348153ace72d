"""Evaluate a checkpoint with any mmsemanticmim config (mmpretrain, mmseg or
mmdet scope: the config's ``default_scope`` decides)."""
import argparse
import os
import os.path as osp

import mmsemanticmim  # noqa: F401  (compat guards before any other import)
from mmengine.config import Config, DictAction

from mmsemanticmim.engine import (SafeFlexibleRunner, SafeRunner,
                                  backbone_from_checkpoint, build_runner,
                                  init_distributed, is_readable_checkpoint,
                                  prepare_config)
from mmsemanticmim.utils import read_checkpoint, trust_checkpoint


def parse_args():
    parser = argparse.ArgumentParser(description='Evaluate a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where to write logs and metrics')
    parser.add_argument('--out', help='dump predictions to this pickle file')
    parser.add_argument(
        '--non-strict', action='store_true',
        help='evaluate even if the checkpoint does not fit the model: what '
        'fits is loaded, and a warning is printed beside the metrics')
    parser.add_argument(
        '--trust-checkpoint',
        action='append',
        default=[],
        metavar='PATH',
        help='allow full unpickling of this file (only for files you trust)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()
    for path in args.trust_checkpoint:
        trust_checkpoint(path)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} not found')
    if not is_readable_checkpoint(args.checkpoint):
        # raises, naming the file and why (a legacy, non-zip torch file
        # loads and goes on)
        read_checkpoint(args.checkpoint)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    # None encoder settings come from the checkpoint under test
    backbone_from_checkpoint(cfg, args.checkpoint)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
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
    init_distributed(cfg.launcher, cfg)
    runner = build_runner(cfg, strict_load=not args.non_strict)
    if not isinstance(runner, (SafeRunner, SafeFlexibleRunner)):
        raise ValueError(
            f'runner_type={cfg.runner_type!r} would load {args.checkpoint} '
            'without the strict checks: evaluate with mmsemanticmim\'s '
            'SafeRunner / SafeFlexibleRunner (remove runner_type).')
    metrics = runner.test()
    print({k: float(v) if hasattr(v, '__float__') else v
           for k, v in metrics.items()})
    report = getattr(runner, 'load_report', None)
    if report:
        print(f"WARNING: these metrics are of a partially loaded model "
              f"(--non-strict): {len(report['missing'])} missing, "
              f"{len(report['unexpected'])} unexpected and "
              f"{len(report['mismatched'])} mismatched keys of "
              f"{report['checkpoint']} (see the log).")


if __name__ == '__main__':
    main()
