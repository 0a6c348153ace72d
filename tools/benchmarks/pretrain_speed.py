"""Training-step speed and peak memory of SemanticMIM against mmpretrain.

Builds SemanticMIM-MaskFeat and SemanticMIM-BEiT from our ViT-B/16 configs
and mmpretrain's own MaskFeat and BEiT from the configs shipped inside the
installed mmpretrain package, feeds each the same random batch (with the
masks each config's own mask generator draws), and times a full training
step (forward, backward, AdamW step) round-robin, so that machine noise hits
every model alike. Peak memory: on CUDA ``max_memory_allocated`` per model;
on CPU the peak resident-set growth of a child process that runs only that
model (Linux: peak RSS reset through /proc/self/clear_refs). The DALL-E tokenizers get random weights (the checkpoint cannot be
downloaded here; its cost does not depend on the weights).

Usage:
    python tools/benchmarks/pretrain_speed.py [--batch-size 8] [--steps 5]
        [--warmup 2] [--device cpu|cuda] [--bf16] [--no-memory]
        [--throughput-batch 256]

Prints one row per model and the SemanticMIM / mmpretrain ratios; on CUDA
also the bf16 training throughput (images/s) at batch 256.
"""
import argparse
import json
import os.path as osp
import statistics
import subprocess
import sys
import time

import mmsemanticmim  # noqa: F401  (compat guards first)
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
OURS = osp.join(REPO, 'configs', 'semanticmim')
PAIRS = {
    'maskfeat': (
        osp.join(OURS, 'semanticmim-maskfeat_vit-base-p16_8xb256-amp-'
                 'coslr-300e_in1k.py'),
        'mmpretrain::maskfeat/maskfeat_vit-base-p16_8xb256-amp-coslr-300e_'
        'in1k.py'),
    'beit': (
        osp.join(OURS, 'semanticmim-beit_vit-base-p16_8xb256-amp-coslr-300e_'
                 'in1k.py'),
        'mmpretrain::beit/beit_beit-base-p16_8xb256-amp-coslr-300e_in1k.py'),
}


def load_cfg(path: str) -> Config:
    if '::' in path:  # a config shipped inside an installed package
        from mmengine.config.utils import _get_package_and_cfg_path
        from mmengine.utils import get_installed_path
        package, rel = _get_package_and_cfg_path(path)
        path = osp.join(get_installed_path(package), '.mim', 'configs', rel)
    return Config.fromfile(path)


def build(name: str, modify=None):
    """Returns (model, scope, cfg) of 'semanticmim-maskfeat', 'mmpretrain-
    beit', ...; ``modify(cfg)`` may change the config first."""
    family, target = name.split('-')
    cfg = load_cfg(PAIRS[target][0 if family == 'semanticmim' else 1])
    if modify is not None:
        modify(cfg)
    scope = 'mmsemanticmim' if family == 'semanticmim' else 'mmpretrain'
    tg = cfg.model.get('target_generator') or {}
    tg.pop('init_cfg', None)  # no download: random tokenizer weights
    with DefaultScope.overwrite_default_scope(scope):
        from mmsemanticmim.registry import MODELS
        model = MODELS.build(cfg.model)
        model.init_weights()
    return model, scope, cfg


def make_batch(cfg, scope, batch_size, device, seed=0):
    """Normalised random images (+ 112 view for DALL-E) and packed masks."""
    from mmpretrain.structures import DataSample
    from mmsemanticmim.registry import TRANSFORMS
    g = torch.Generator().manual_seed(seed)
    pipeline = cfg.train_dataloader.dataset.pipeline
    gen_cfg = [t for t in pipeline if 'Mask' in t.type][0]
    with DefaultScope.overwrite_default_scope(scope):
        gen = TRANSFORMS.build(gen_cfg)
    samples = []
    for _ in range(batch_size):
        ds = DataSample()
        for key, value in gen.transform({}).items():
            ds.set_field(torch.as_tensor(value).to(device), key)
        samples.append(ds)
    img = torch.randn(batch_size, 3, 224, 224, generator=g).to(device)
    preprocessor = cfg.model.get('data_preprocessor') or \
        cfg.get('data_preprocessor') or {}
    if preprocessor.get('type') == 'TwoNormDataPreprocessor':
        inputs = [img, torch.randn(batch_size, 3, 112, 112,
                                   generator=g).to(device)]
    else:
        inputs = img
    return inputs, samples


def step_fn(model, inputs, samples, optimizer, bf16):
    def step():
        with torch.autocast(inputs[0].device.type if isinstance(
                inputs, list) else inputs.device.type,
                            dtype=torch.bfloat16, enabled=bf16):
            loss = model.loss(inputs, samples)['loss']
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return step


def sync(device):
    if device == 'cuda':
        torch.cuda.synchronize()


def prepare(name, args):
    model, scope, cfg = build(name)
    model = model.to(args.device).train()
    inputs, samples = make_batch(cfg, scope, args.batch_size, args.device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    return step_fn(model, inputs, samples, opt, args.bf16)


def memory_child(name, args):
    """Run in a fresh process: peak memory growth of one model's steps."""
    step = prepare(name, args)
    step()  # optimizer state exists from here on, as in training
    sync(args.device)
    if args.device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = _rss_bytes('VmRSS')
        # Linux: writing 5 to clear_refs resets the peak RSS (VmHWM).
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
    for _ in range(2):
        step()
    sync(args.device)
    if args.device == 'cuda':
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = _rss_bytes('VmHWM') - base
    print(json.dumps({'peak_bytes': peak}))


def _rss_bytes(field: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f'{field} not in /proc/self/status')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--device', default='cuda'
                        if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--bf16', action='store_true',
                        help='bf16 autocast (CUDA)')
    parser.add_argument('--targets', nargs='+', default=['maskfeat', 'beit'])
    parser.add_argument('--no-memory', action='store_true')
    parser.add_argument('--throughput-batch', type=int, default=256,
                        help='on CUDA, also bf16 images/s at this batch '
                        '(0: skip)')
    parser.add_argument('--memory-child', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        return memory_child(args.memory_child, args)

    names = [f'{f}-{t}' for t in args.targets
             for f in ('semanticmim', 'mmpretrain')]
    steps = {n: prepare(n, args) for n in names}
    times = {n: [] for n in names}
    for r in range(args.warmup + args.steps):
        for n in names:  # round robin: noise hits every model alike
            sync(args.device)
            t0 = time.perf_counter()
            steps[n]()
            sync(args.device)
            if r >= args.warmup:
                times[n].append(time.perf_counter() - t0)
    del steps

    memory = {}
    if not args.no_memory:
        for n in names:
            cmd = [sys.executable, __file__, '--memory-child', n,
                   '--batch-size', str(args.batch_size), '--device',
                   args.device] + (['--bf16'] if args.bf16 else [])
            out = subprocess.run(cmd, capture_output=True, text=True,
                                 check=True).stdout.strip().splitlines()[-1]
            memory[n] = json.loads(out)['peak_bytes']

    print(f'device={args.device} batch={args.batch_size} steps={args.steps} '
          f'bf16={args.bf16} torch={torch.__version__} '
          f'threads={torch.get_num_threads()}')
    print(f"{'model':24s} {'median s/step':>14s} {'images/s':>9s} "
          f"{'peak MiB':>9s}")
    med = {n: statistics.median(times[n]) for n in names}
    for n in names:
        mem = f'{memory[n] / 2**20:9.0f}' if n in memory else f"{'-':>9s}"
        print(f'{n:24s} {med[n]:14.3f} {args.batch_size / med[n]:9.1f} '
              f'{mem}')
    for t in args.targets:
        ours, theirs = f'semanticmim-{t}', f'mmpretrain-{t}'
        line = f'ratio {t}: time {med[ours] / med[theirs]:.3f}x'
        if memory:
            line += f', peak memory {memory[ours] / memory[theirs]:.3f}x'
        print(line + f'  ({ours} / {theirs})')
    if args.device == 'cuda' and args.throughput_batch:
        bf16_throughput(names, args)


def bf16_throughput(names, args):
    """Training images/s with bf16 autocast at a large batch, one model at
    a time (ViT-B/16 at batch 256 by default)."""
    import argparse as _argparse
    big = _argparse.Namespace(**{**vars(args), 'bf16': True,
                                 'batch_size': args.throughput_batch})
    print(f'bf16 training throughput, batch {big.batch_size}:')
    rates = {}
    for n in names:
        step = prepare(n, big)
        for _ in range(args.warmup):
            step()
        sync('cuda')
        t0 = time.perf_counter()
        for _ in range(args.steps):
            step()
        sync('cuda')
        rates[n] = big.batch_size * args.steps / (time.perf_counter() - t0)
        print(f'  {n:24s} {rates[n]:9.1f} images/s')
        del step
        torch.cuda.empty_cache()
    for t in args.targets:
        ours, theirs = f'semanticmim-{t}', f'mmpretrain-{t}'
        print(f'  ratio {t}: throughput {rates[ours] / rates[theirs]:.3f}x')


if __name__ == '__main__':
    main()
