"""Peak memory per process of SemanticMIM and of mmpretrain's MaskFeat and
BEiT, for one process, DDP, DDP + activation checkpointing, FSDP and FSDP +
activation checkpointing.

Each (model, arch, mode) runs in fresh processes (``torch.distributed.run``
with ``--nproc`` CPU processes and gloo for the distributed modes): build
the model from its config at the given ViT size, wrap it (DDP, or FSDP with
``use_orig_params``), run one AdamW step so that the optimizer state exists,
reset the peak resident set (Linux ``/proc/self/clear_refs``), run
``--steps`` more and report each rank's peak RSS; the largest rank counts.
FSDP wraps every transformer layer as its own unit, as ``tools/train.py
--fsdp`` does.
The DALL-E tokenizers get random weights (no download; memory does not
depend on them). Activation checkpointing is switched on SemanticMIM's two
stacks (``with_cp``) and on mmpretrain backbones that have a ``with_cp``
attribute (MaskFeat's and BEiT's ViTs have none: their ``*_cp`` modes run
without it).

Usage:
    python tools/profiling/pretrain_memory.py [--archs base large]
        [--models semanticmim-maskfeat mmpretrain-maskfeat ...]
        [--modes single ddp ddp_cp fsdp fsdp_cp] [--nproc 2] [--batch-size 8]
        [--steps 2]

Prints one row per model and mode (peak MiB per process; "failed" where a
run died, e.g. for memory, with the end of its log) and, per arch, the
ratio of SemanticMIM's FSDP peaks to mmpretrain MaskFeat's single-process
peak at the same per-process batch.
"""
import argparse
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import torch

import mmsemanticmim  # registers the components
from mmsemanticmim.utils.torch_features import check_fsdp_device


def _beside(name: str):
    """The script ``name``.py beside this one, as a module: the memory
    benchmark and the GPU check share pretrain_speed.py's arm builders
    (loaded by path, so that this works however the script is started)."""
    if name not in sys.modules:
        path = osp.join(osp.dirname(osp.abspath(__file__)), f'{name}.py')
        spec = importlib.util.spec_from_file_location(name, path)
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


_speed = _beside('pretrain_speed')
build = _speed.build
make_batch = _speed.make_batch
rss_bytes = _speed.rss_bytes
training_step = _speed.training_step

MODELS = ('semanticmim-maskfeat', 'mmpretrain-maskfeat', 'semanticmim-beit',
          'mmpretrain-beit')
MODES = ('single', 'ddp', 'ddp_cp', 'fsdp', 'fsdp_cp')


def set_arch(cfg, arch: str) -> None:
    """Resize a ViT-B pre-training config to ``arch`` (e.g. 'large')."""
    from mmpretrain.models import VisionTransformer
    dims = VisionTransformer.arch_zoo[arch]['embed_dims']
    model = cfg.model
    model.backbone.arch = arch
    neck = model.get('neck') or {}
    if 'arch' in neck:
        neck['arch'] = arch
    if 'in_channels' in neck:
        neck['in_channels'] = dims
    if 'embed_dims' in model.head:
        model.head.embed_dims = dims
    if model.head.get('predictor'):
        model.head.predictor.in_channels = dims


def child(args) -> None:
    """One process of one measurement; prints its peak RSS as JSON."""
    distributed = args.mode != 'single'
    if distributed:
        torch.distributed.init_process_group('gloo')
    model, scope, cfg = build(args.model, lambda c: set_arch(c, args.arch))
    if args.mode.endswith('_cp'):
        for part in (model.backbone, getattr(model, 'neck', None)):
            if part is not None and hasattr(part, 'with_cp'):
                part.with_cp = True
    model.train()
    if args.mode in ('ddp', 'ddp_cp'):
        wrapped = torch.nn.parallel.DistributedDataParallel(
            model, find_unused_parameters=False)
    elif args.mode in ('fsdp', 'fsdp_cp'):
        from torch.distributed.fsdp import FullyShardedDataParallel

        check_fsdp_device(f'--modes {args.mode}')

        from mmsemanticmim.models.utils import wrap_transformer_layers

        # as tools/train.py --fsdp: a unit per transformer layer
        wrapped = FullyShardedDataParallel(
            model,
            device_id=torch.device('cpu'),
            use_orig_params=True,
            auto_wrap_policy=wrap_transformer_layers)
    else:
        wrapped = model
    inputs, samples = make_batch(cfg, scope, args.batch_size, 'cpu')
    opt = torch.optim.AdamW(
        [p for p in wrapped.parameters() if p.requires_grad], lr=1e-4)
    # DDP/FSDP hook their gradient sync into the wrapper's forward
    step = training_step(wrapped, opt, inputs, samples)
    step()  # the optimizer state exists from here on
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')  # Linux: reset the peak resident set
    for _ in range(args.steps):
        step()
    row = json.dumps({
        'peak_bytes': rss_bytes('VmHWM'),
        'params': sum(p.numel() for p in model.parameters())
    })
    # the ranks share the parent's pipe: one write() per line keeps their
    # lines whole (print writes text and newline apart when unbuffered)
    sys.stdout.flush()
    os.write(sys.stdout.fileno(), (row + '\n').encode())
    if distributed:
        torch.distributed.destroy_process_group()


def measure(model: str, arch: str, mode: str, args, script: str):
    """Peak memory of one (model, arch, mode) in child processes running
    ``script --child``; None if they failed, 'n/a' where this torch cannot
    run the mode here."""
    if mode.startswith('fsdp'):
        try:
            check_fsdp_device(f'--modes {mode}')
        except RuntimeError as e:
            print(f'# {model} {arch} {mode}: n/a: {e}', flush=True)
            return 'n/a'
    cmd = [
        script, '--child', '--model', model, '--arch', arch, '--mode', mode,
        '--batch-size',
        str(args.batch_size), '--steps',
        str(args.steps)
    ]
    if mode == 'single':
        cmd = [sys.executable] + cmd
    else:
        cmd = [
            sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node',
            str(args.nproc), '--master_port',
            str(args.port)
        ] + cmd
    env = dict(
        os.environ, OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '1'))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    rows = [
        json.loads(line) for line in proc.stdout.splitlines()
        if line.startswith('{')
    ]
    if proc.returncode or not rows:
        # e.g. killed for memory: say so in the table and go on
        print(
            f'# {model} {arch} {mode} failed (exit {proc.returncode}):\n' +
            '\n'.join('#   ' + line
                      for line in proc.stderr.strip().splitlines()[-5:]),
            flush=True)
        return None
    return dict(
        peak=max(r['peak_bytes'] for r in rows), params=rows[0]['params'])


def run(args: argparse.Namespace, script: str) -> None:
    """With ``args.child``: one process of one measurement. Else measure
    every (arch, model, mode) through ``script`` and print the table and
    the FSDP ratios."""
    if args.child:
        return child(args)
    print(f'CPU, batch {args.batch_size} per process, {args.nproc} '
          f'processes for ddp/ddp_cp/fsdp, torch {torch.__version__}; peak '
          'resident memory per process (MiB)')
    print(f"{'arch':10s} {'model':22s} {'params':>8s} " +
          ' '.join(f'{m:>8s}' for m in args.modes))
    results = {}
    for arch in args.archs:
        for model in args.models:
            row = {}
            for mode in args.modes:
                row[mode] = measure(model, arch, mode, args, script)
            results[arch, model] = row
            done = [r for r in row.values() if isinstance(r, dict)]
            params = f"{done[0]['params'] / 1e6:7.0f}M" if done else '?'
            print(
                f'{arch:10s} {model:22s} {params:>8s} ' +
                ' '.join(f"{row[m]['peak'] / 2**20:8.0f}" if isinstance(
                    row[m], dict) else f"{row[m] or 'failed':>8s}"
                         for m in args.modes),
                flush=True)
        base = results.get((arch, 'mmpretrain-maskfeat'), {}).get('single')
        for mode in ('fsdp', 'fsdp_cp'):
            ours = results.get((arch, 'semanticmim-maskfeat'), {}).get(mode)
            if isinstance(ours, dict) and isinstance(base, dict):
                print(f'{arch}: SemanticMIM-MaskFeat {mode} / mmpretrain '
                      'MaskFeat single process = '
                      f"{ours['peak'] / base['peak']:.3f}x")


def main():
    mmsemanticmim.setup_env()  # weights-only checkpoint loading
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--archs', nargs='+', default=['base', 'large'])
    parser.add_argument(
        '--models', nargs='+', default=list(MODELS), choices=MODELS)
    parser.add_argument(
        '--modes', nargs='+', default=list(MODES), choices=MODES)
    parser.add_argument('--nproc', type=int, default=2)
    parser.add_argument(
        '--batch-size', type=int, default=8, help='per process')
    parser.add_argument('--steps', type=int, default=2)
    parser.add_argument('--port', type=int, default=29517)
    parser.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--model', help=argparse.SUPPRESS)
    parser.add_argument('--arch', help=argparse.SUPPRESS)
    parser.add_argument('--mode', help=argparse.SUPPRESS)
    args = parser.parse_args()
    run(args, __file__)


if __name__ == '__main__':
    main()
