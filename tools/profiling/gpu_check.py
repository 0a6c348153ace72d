"""One prepared GPU check (run by ``gpu_check.sh``): throughput, memory and
model FLOPs utilisation of the four pre-training arms, 50 shipped-AMP
training steps of our four ViT-B configs, one 640x640 UperNet step.

1. Throughput: SemanticMIM-MaskFeat, SemanticMIM-BEiT, mmpretrain MaskFeat
   and mmpretrain BEiT at ViT-B/16 224 (built as ``pretrain_speed.py``
   builds them), bf16 autocast (fp32 in the dry run), fused AdamW, at
   ``--batch-size`` (256) or the largest power-of-two fraction of it that
   fits, eager and with
   ``torch.compile`` of the forward: images/s, peak memory
   (``max_memory_allocated``) and MFU. FLOPs are counted, not estimated:
   ``torch.utils.flop_counter.FlopCounterMode`` over one eager forward +
   backward of each arm at the measured batch (every matmul, convolution
   and attention call it executes: 2 FLOPs per multiply-add, the backward
   included; elementwise work is not counted, as in the usual MFU
   convention). MFU = counted FLOPs per step x steps/s / ``--peak-tflops``
   (989: the H100/H200 SXM dense bf16 figure).
2. 50 training steps (``--train-steps``) of each of
   ``configs/semanticmim/{semanticmim,baseline}-{maskfeat,beit}_vit-base-p16_*``
   through our Runner under their shipped optimizer wrapper (AMP in the
   device's format), on a generated folder of random images; fails on a
   non-finite loss (the tools' NonFiniteLossHook stops the run).
3. One training step of the ADE20K UperNet config (640x640, batch 2, its
   layer-decay AdamW and AMP) on random images and labels.

The most important figure runs first (``THROUGHPUT_ORDER``: our
SemanticMIM-MaskFeat step, the MaskFeat baseline, both compiled, then the
BEiT-target arms), and ``gpu_check.json`` is rewritten after every figure,
so a run stopped by its time limit keeps what it measured. Without mmcv's
compiled ops (the pure-Python mmcv the GPU kit carries) the UperNet step is
skipped with a line that says so.

``--dry-run`` does all of it on the CPU at tiny size (2-layer, 64-wide
ViTs, batch 2, 2 steps, 64x64 UperNet crops, compile with the 'eager'
backend), to test the script where there is no GPU. Prints a summary and,
with ``--out DIR``, writes ``gpu_check.json`` there as it goes.
"""
import argparse
import gc
import importlib.util
import json
import math
import os
import os.path as osp
import sys
import tempfile
import time
import traceback

import torch

import mmsemanticmim  # registers the components
from mmsemanticmim.utils.package_files import package_file
from mmsemanticmim.utils.torch_features import OutOfMemoryError


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
like_for_like_optimizer = _speed.like_for_like_optimizer
make_batch = _speed.make_batch
training_step = _speed.training_step

ARMS = ('semanticmim-maskfeat', 'semanticmim-beit', 'mmpretrain-maskfeat',
        'mmpretrain-beit')
#: Most important first: a run cut short by its time limit keeps the
#: figures that matter (our MaskFeat-target step, then the MaskFeat
#: baseline, then both compiled, then the BEiT-target arms).
THROUGHPUT_ORDER = (('semanticmim-maskfeat',
                     False), ('mmpretrain-maskfeat',
                              False), ('semanticmim-maskfeat',
                                       True), ('mmpretrain-maskfeat', True),
                    ('semanticmim-beit', False), ('mmpretrain-beit', False),
                    ('semanticmim-beit', True), ('mmpretrain-beit', True))
assert sorted(set(a for a, _ in THROUGHPUT_ORDER)) == sorted(ARMS)
TRAIN_CONFIGS = [
    package_file(
        'configs', 'semanticmim', f'{family}-{target}_vit-base-'
        'p16_8xb256-amp-coslr-300e_in1k.py')
    for family in ('semanticmim', 'baseline')
    for target in ('maskfeat', 'beit')
]
UPERNET = package_file(
    'configs', 'benchmarks', 'segmentation', 'upernet_vit-base-p16_'
    'semanticmim-maskfeat-pre_8xb2-amp-160k_ade20k-640x640.py')
TINY_ARCH = dict(
    embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=128)


def shrink(model_cfg) -> None:
    """Tiny ViTs in place of ViT-B in a model config (--dry-run)."""
    dims = TINY_ARCH['embed_dims']
    model_cfg.backbone.arch = dict(TINY_ARCH)
    neck = model_cfg.get('neck') or {}
    if 'arch' in neck:
        neck['arch'] = dict(TINY_ARCH)
    for part, key in (('neck', 'in_channels'), ('neck', 'embed_dim'),
                      ('head', 'embed_dims'), ('auxiliary_head',
                                               'in_channels')):
        sub = model_cfg.get(part) or {}
        if key in sub and not isinstance(sub[key], (list, tuple)):
            sub[key] = dims
    target = model_cfg.get('target_generator') or {}
    if target.get('type') == 'DALL-E':  # a small tokenizer, same codes
        target.update(n_hid=32, n_blk_per_group=1)
    head = model_cfg.get('head') or {}
    if head.get('predictor'):
        head.predictor.in_channels = dims
    decode = model_cfg.get('decode_head') or {}
    if 'in_channels' in decode:
        decode.in_channels = [dims] * len(decode.in_channels)
        decode.channels = dims
    outs = model_cfg.backbone.get('out_indices', ())
    if isinstance(outs, (list, tuple)) and len(outs) > 1:  # a pyramid
        model_cfg.backbone.arch.num_layers = len(outs)
        model_cfg.backbone.out_indices = list(range(len(outs)))


def mmcv_ops_available() -> bool:
    """Whether mmcv's compiled ops load (mmseg's models import them)."""
    try:
        import mmcv._ext  # noqa: F401
        return True
    except ImportError:
        return False


def _autocast():
    """bf16 autocast on the GPU; fp32 in the CPU dry run, where
    mmpretrain's HOGGenerator fails under bf16 autocast (scatter dtype)."""
    return torch.autocast(
        _device(), dtype=torch.bfloat16, enabled=_device() == 'cuda')


def counted_flops(step_model, inputs, samples) -> int:
    """FLOPs of one forward + backward, counted by torch."""
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with counter, _autocast():
        step_model(inputs, samples, mode='loss')['loss'].backward()
    step_model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def _device() -> str:
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def throughput(arm: str, batch: int, compiled: bool, args) -> dict:
    """Images/s, peak memory and MFU of one arm; halves the batch on OOM."""
    device = _device()
    while batch >= 1:
        model = None
        try:
            model, scope, cfg = build(
                arm, (lambda c: shrink(c.model)) if args.dry_run else None)
            model = model.to(device).train()
            inputs, samples = make_batch(cfg, scope, batch, device)
            flops = counted_flops(model, inputs, samples)
            if compiled:
                model.forward = torch.compile(
                    model.forward,
                    backend='eager' if args.dry_run else 'inductor')
            opt = like_for_like_optimizer(model, device)
            step = training_step(model, opt, inputs, samples, _autocast)

            for _ in range(args.warmup):
                step()
            if device == 'cuda':
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            t0 = time.perf_counter()
            for _ in range(args.steps):
                step()
            if device == 'cuda':
                torch.cuda.synchronize()
            seconds = (time.perf_counter() - t0) / args.steps
            peak = torch.cuda.max_memory_allocated() if device == 'cuda' \
                else 0
            return dict(
                arm=arm,
                compiled=compiled,
                batch=batch,
                images_per_s=batch / seconds,
                s_per_step=seconds,
                peak_gib=peak / 2**30,
                tflop_per_step=flops / 1e12,
                mfu=flops / seconds / (args.peak_tflops * 1e12))
        except OutOfMemoryError:
            oom = True
        else:
            oom = False
        finally:
            torch._dynamo.reset()
        if oom:  # free everything of the failed try, then half the batch
            model = opt = step = inputs = samples = None
            gc.collect()
            torch.cuda.empty_cache()
            batch //= 2
    raise RuntimeError(f'{arm}: not even batch 1 fits')


def write_images(root: str, count: int) -> str:
    """``count`` random 256x256 JPEGs under ``root/train/random``."""
    import cv2
    import numpy as np
    folder = osp.join(root, 'train', 'random')
    os.makedirs(folder, exist_ok=True)
    rng = np.random.RandomState(0)
    for i in range(count):
        cv2.imwrite(
            osp.join(folder, f'{i:05d}.jpg'),
            rng.randint(0, 256, (256, 256, 3), dtype=np.uint8))
    return root


def train_config(path: str, data_root: str, args) -> dict:
    """``--train-steps`` iterations of a pre-training config as shipped
    (its optimizer wrapper and AMP) through our Runner."""
    from mmengine.config import Config

    from mmsemanticmim.engine import build_runner, prepare_config
    cfg = Config.fromfile(path)
    tg = cfg.model.get('target_generator') or {}
    tg.pop('init_cfg', None)  # no download on the GPU machine
    if args.dry_run:
        shrink(cfg.model)
    batch = args.train_batch
    pipeline = cfg.train_dataloader.dataset.pipeline
    cfg.train_dataloader.update(
        batch_size=batch, num_workers=args.workers, persistent_workers=False)
    cfg.train_dataloader.dataset = dict(
        type='CustomDataset',
        data_root=data_root,
        with_label=False,
        pipeline=pipeline)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1)
    cfg.work_dir = tempfile.mkdtemp(prefix='gpu_check_')
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=10)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=10**6, save_last=False)
    cfg.experiment_name = osp.basename(path)[:-3]
    prepare_config(cfg)
    runner = build_runner(cfg)
    t0 = time.perf_counter()
    runner.train()
    losses = [
        float(v) for v in runner.message_hub.get_scalar('train/loss').data[0]
    ]
    if not all(map(math.isfinite, losses)):
        raise RuntimeError(f'{path}: non-finite loss {losses}')
    return dict(
        config=osp.basename(path),
        steps=len(losses),
        batch=batch,
        first_loss=losses[0],
        last_loss=losses[-1],
        precision=str(getattr(runner.optim_wrapper, 'cast_dtype', None)),
        seconds=time.perf_counter() - t0)


def upernet_step(args) -> dict:
    """One training step of the ADE20K UperNet config on random data."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    from mmengine.structures import PixelData
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    from mmseg.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(UPERNET)
    cfg.model.backbone.init_cfg = None  # random weights: a step, not a run
    size = 64 if args.dry_run else 640
    if args.dry_run:
        shrink(cfg.model)
        cfg.model.backbone.img_size = (size, size)
        cfg.model.data_preprocessor.size = (size, size)
    device = _device()
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model).to(device).train()
        wrapper_cfg = cfg.optim_wrapper.copy()
        if device == 'cpu':
            wrapper_cfg.type = 'OptimWrapper'  # mmengine's AMP needs a GPU
        wrapper = build_optim_wrapper(model, wrapper_cfg)
    g = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(2):
        ds = SegDataSample()
        ds.gt_sem_seg = PixelData(
            data=torch.randint(0, 150, (1, size, size), generator=g))
        ds.set_metainfo(
            dict(
                img_shape=(size, size),
                ori_shape=(size, size),
                pad_shape=(size, size)))
        samples.append(ds)
    data = dict(
        inputs=[
            torch.randint(0, 256, (3, size, size), generator=g).to(torch.uint8)
            for _ in range(2)
        ],
        data_samples=samples)
    if device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    log = model.train_step(data, wrapper)
    if device == 'cuda':
        torch.cuda.synchronize()
    loss = float(sum(v for k, v in log.items() if 'loss' in k))
    if not math.isfinite(loss):
        raise RuntimeError(f'UperNet step: non-finite loss {log}')
    return dict(
        config=osp.basename(UPERNET),
        size=size,
        loss=loss,
        seconds=time.perf_counter() - t0,
        peak_gib=(torch.cuda.max_memory_allocated() /
                  2**30 if device == 'cuda' else 0))


def run(args: argparse.Namespace) -> int:
    """Every part of ``args.parts``, most important first, writing
    ``gpu_check.json`` into ``args.out`` after every figure; returns 1 if a
    part failed, else 0."""
    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel('ERROR')

    report = dict(
        device=torch.cuda.get_device_name()
        if torch.cuda.is_available() else 'cpu (dry run)',
        torch=torch.__version__,
        dry_run=args.dry_run,
        throughput=[],
        train=[],
        upernet=None,
        errors=[])

    def save():
        """The report so far: every figure is on disk as soon as it is
        measured, so a run stopped by a time limit keeps what it did."""
        if args.out:
            os.makedirs(args.out, exist_ok=True)
            tmp = osp.join(args.out, 'gpu_check.json.tmp')
            with open(tmp, 'w') as f:
                json.dump(report, f, indent=1)
            os.replace(tmp, osp.join(args.out, 'gpu_check.json'))

    def record(key, row, line):
        """Keep a measured row: in the report, on disk, in the log."""
        if isinstance(report[key], list):
            report[key].append(row)
        else:
            report[key] = row
        save()
        print(line, flush=True)

    def attempt(part, fn, *fargs):
        try:
            return fn(*fargs)
        except Exception:  # report every part, not just the first failure
            report['errors'].append(f'{part}: {traceback.format_exc()}')
            print(f'FAILED {part}:\n{traceback.format_exc()}', flush=True)
            save()

    save()
    if 'throughput' in args.parts:
        print(
            f"{'arm':22s} {'compile':7s} {'batch':>5s} {'img/s':>8s} "
            f"{'peak GiB':>8s} {'TFLOP/step':>10s} {'MFU':>6s}",
            flush=True)
        for arm, compiled in THROUGHPUT_ORDER:
            row = attempt(f'throughput {arm} compile={compiled}', throughput,
                          arm, args.batch_size, compiled, args)
            if row:
                record(
                    'throughput', row,
                    f"{arm:22s} {str(compiled):7s} {row['batch']:5d} "
                    f"{row['images_per_s']:8.1f} {row['peak_gib']:8.1f}"
                    f" {row['tflop_per_step']:10.3f} "
                    f"{100 * row['mfu']:5.1f}%")
    if 'train' in args.parts:
        root = write_images(
            tempfile.mkdtemp(prefix='gpu_check_data_'),
            args.train_steps * args.train_batch)
        for path in TRAIN_CONFIGS:
            row = attempt(f'train {osp.basename(path)}', train_config, path,
                          root, args)
            if row:
                record(
                    'train', row,
                    f"train {row['config']}: {row['steps']} steps, batch "
                    f"{row['batch']}, {row['precision']}, loss "
                    f"{row['first_loss']:.4f} -> {row['last_loss']:.4f}, "
                    f"{row['seconds']:.0f} s")
    if 'upernet' in args.parts:
        if not mmcv_ops_available():
            record(
                'upernet', 'skipped: mmcv has no compiled ops here',
                'upernet: skipped: this mmcv has no compiled ops '
                '(mmcv._ext), which mmseg needs; carry an mmcv built with '
                'its ops to run it')
        else:
            row = attempt('upernet', upernet_step, args)
            if row:
                record(
                    'upernet', row,
                    f"upernet {row['size']}x{row['size']} step: loss "
                    f"{row['loss']:.3f}, {row['seconds']:.1f} s, peak "
                    f"{row['peak_gib']:.1f} GiB")
    print(f"gpu_check: {len(report['errors'])} part(s) failed")
    return 1 if report['errors'] else 0


def main():
    mmsemanticmim.setup_env()  # weights-only checkpoint loading
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--dry-run',
        action='store_true',
        help='CPU, tiny models: test the script')
    parser.add_argument('--batch-size', type=int, default=256)
    parser.add_argument('--steps', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--train-steps', type=int, default=50)
    parser.add_argument('--train-batch', type=int, default=64)
    parser.add_argument('--workers', type=int, default=8)
    parser.add_argument(
        '--peak-tflops',
        type=float,
        default=989.0,
        help='dense bf16 peak of the GPU (H100/H200 SXM)')
    parser.add_argument(
        '--parts',
        nargs='+',
        default=['throughput', 'train', 'upernet'],
        choices=['throughput', 'train', 'upernet'])
    parser.add_argument('--out', help='folder for gpu_check.json')
    args = parser.parse_args()
    if args.dry_run:
        args.batch_size, args.steps, args.warmup = 2, 1, 1
        args.train_steps, args.train_batch, args.workers = 2, 2, 0
    elif not torch.cuda.is_available():
        parser.error('no CUDA device: use --dry-run to test on the CPU')
    return run(args)


if __name__ == '__main__':
    sys.exit(main())
