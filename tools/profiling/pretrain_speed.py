"""Training-step speed of SemanticMIM against mmpretrain and the authors'
reference code, like for like and as shipped.

Arms, each at ViT-B/16 224 from its own config: our SemanticMIM-MaskFeat
and SemanticMIM-BEiT (``configs/semanticmim``), mmpretrain's MaskFeat and
BEiT (the configs inside the installed mmpretrain) and, with
``--reference-dir DIR`` (a checkout of yyk-wew/SemanticMIM; never copied
here), the authors' SemanticMIM on both (their
``configs/{maskfeat,beit}/*_bottleneck_pretrain.py``, their modules
imported from DIR). Every arm gets the same random batch (masks drawn by
its own mask generator) and is timed over a full training step (forward,
backward, optimizer step), round-robin over all arms and settings, so that
machine noise hits each alike. Two settings:

- like for like: the same optimizer for every arm (``torch.optim.AdamW``,
  fused where the device has it, no grad clipping, no weight-decay groups)
  and the same precision (``--bf16``: bf16 autocast, else fp32);
- as shipped: each arm's own ``optim_wrapper`` built from its config by
  mmengine (optimizer options, clipping, parameter groups, AMP). mmengine's
  ``AmpOptimWrapper`` (mmpretrain's and the reference's configs) refuses
  the CPU: there it runs as ``OptimWrapper`` (fp32), as those configs would
  have to; ours runs its ``DeviceAmpOptimWrapper`` (fp32 on the CPU, bf16
  or fp16 on a GPU).

The DALL-E tokenizers get random weights (the checkpoint cannot be
downloaded here; its cost does not depend on the weights). Peak memory:
on CUDA ``max_memory_allocated`` per model; on CPU the peak resident-set
growth of a child process that runs only that model, like for like (Linux:
peak RSS reset through /proc/self/clear_refs). ``--profile`` times the
parts of our step (encoder, reconstruction stack, head + target,
optimizer) separately.

Usage:
    python tools/profiling/pretrain_speed.py [--batch-size 8] [--steps 5]
        [--warmup 2] [--device cpu|cuda] [--bf16] [--compile]
        [--targets maskfeat beit] [--reference-dir DIR]
        [--settings like shipped] [--no-memory] [--profile]
        [--throughput-batch 256]

Prints one row per arm and setting, the ratios ours / mmpretrain and
ours / reference per setting; on CUDA also the bf16 training throughput
(images/s) at batch 256.
"""
import argparse
import contextlib
import importlib.util
import json
import os.path as osp
import statistics
import subprocess
import sys
import time
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmsemanticmim  # registers the components
from mmsemanticmim.utils.package_files import package_file
from mmsemanticmim.utils.torch_features import fused_adamw_supported

OURS = package_file('configs', 'semanticmim')
CONFIGS = {
    ('semanticmim', 'maskfeat'):
    osp.join(
        OURS, 'semanticmim-maskfeat_vit-base-p16_8xb256-amp-coslr-300e_'
        'in1k.py'),
    ('mmpretrain', 'maskfeat'):
    'mmpretrain::maskfeat/maskfeat_vit-base-p16_8xb256-amp-coslr-300e_'
    'in1k.py',
    ('reference', 'maskfeat'):
    'configs/maskfeat/maskfeat_bottleneck_'
    'pretrain.py',
    ('semanticmim', 'beit'):
    osp.join(OURS,
             'semanticmim-beit_vit-base-p16_8xb256-amp-coslr-300e_in1k.py'),
    ('mmpretrain', 'beit'):
    'mmpretrain::beit/beit_beit-base-p16_8xb256-amp-coslr-300e_in1k.py',
    ('reference', 'beit'):
    'configs/beit/beit_bottleneck_pretrain.py',
}


def load_cfg(path: str) -> Config:
    """A config file, or ``package::rel`` inside an installed package."""
    if '::' in path:  # a config shipped inside an installed package
        from mmengine.config.utils import _get_package_and_cfg_path
        from mmengine.utils import get_installed_path
        package, rel = _get_package_and_cfg_path(path)
        path = osp.join(get_installed_path(package), '.mim', 'configs', rel)
    return Config.fromfile(path)


def import_reference(directory: str) -> None:
    """Register the authors' modules in mmpretrain's registries.

    Their ``train.py`` imports the packages ``beit`` and ``maskfeat`` from
    the checkout root; they are imported from there by file location, so
    nothing is added to ``sys.path``.
    """
    if not osp.isfile(osp.join(directory, 'maskfeat', 'maskfeat.py')):
        raise FileNotFoundError(
            f'--reference-dir {directory}: no maskfeat/maskfeat.py there; '
            'give the root of a yyk-wew/SemanticMIM checkout.')
    for name in ('beit', 'maskfeat'):
        folder = osp.join(directory, name)
        known = sys.modules.get(name)
        if known is not None:
            if osp.dirname(getattr(known, '__file__', '') or '') != folder:
                raise ImportError(
                    f'a module {name!r} from elsewhere is imported already '
                    f'({known!r}); run the reference arms in a fresh '
                    'process.')
            continue
        spec = importlib.util.spec_from_file_location(
            name,
            osp.join(folder, '__init__.py'),
            submodule_search_locations=[folder])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            # the package and whatever of it was imported: a retry starts
            # clean
            for key in [
                    k for k in sys.modules
                    if k == name or k.startswith(name + '.')
            ]:
                del sys.modules[key]
            raise


def build(name: str, modify=None, reference_dir: Optional[str] = None):
    """Returns (model, scope, cfg) of 'semanticmim-maskfeat', 'mmpretrain-
    beit', 'reference-maskfeat', ...; ``modify(cfg)`` may change the config
    first; the reference arms need the authors' checkout
    (``reference_dir``)."""
    family, target = name.split('-')
    path = CONFIGS[family, target]
    if family == 'reference':
        if reference_dir is None:
            raise ValueError(f'{name} needs --reference-dir')
        import_reference(reference_dir)
        path = osp.join(reference_dir, path)
    cfg = load_cfg(path)
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
        inputs = [
            img,
            torch.randn(batch_size, 3, 112, 112, generator=g).to(device)
        ]
    else:
        inputs = img
    return inputs, samples


def like_for_like_optimizer(model, device):
    """The same AdamW for every arm: fused where the device has it."""
    params = [p for p in model.parameters() if p.requires_grad]
    if fused_adamw_supported(torch.device(device).type):
        return torch.optim.AdamW(params, lr=1e-4, fused=True)
    return torch.optim.AdamW(params, lr=1e-4, foreach=True)


def shipped_wrapper(model, cfg, scope, device):
    """The arm's own optim_wrapper, built by mmengine from its config."""
    from mmengine.optim import build_optim_wrapper
    wrapper_cfg = cfg.optim_wrapper.copy()
    note = ''
    if device == 'cpu' and wrapper_cfg.get('type') == 'AmpOptimWrapper':
        # mmengine's AMP wrapper asserts an accelerator
        wrapper_cfg.type = 'OptimWrapper'
        for key in ('loss_scale', 'dtype', 'use_fsdp'):
            wrapper_cfg.pop(key, None)
        note = 'AmpOptimWrapper->fp32'
    with DefaultScope.overwrite_default_scope(scope):
        wrapper = build_optim_wrapper(model, wrapper_cfg)
    dtype = getattr(wrapper, 'cast_dtype', None)
    opt = wrapper.optimizer
    kind = 'fused' if opt.defaults.get('fused') else (
        'foreach' if opt.defaults.get('foreach') else 'default')
    precision = str(dtype).replace('torch.', '') if dtype else 'fp32'
    return wrapper, f'{type(opt).__name__}({kind}) {precision} {note}'.strip()


def training_step(model,
                  opt,
                  inputs,
                  samples,
                  autocast=contextlib.nullcontext):
    """A closure running one like-for-like training step: the loss under
    ``autocast()``, backward, the optimizer's step."""

    def step():
        with autocast():
            loss = model(inputs, samples, mode='loss')['loss']
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    return step


def prepare(name, args, settings=('like', )):
    """One model of arm ``name`` and, per setting, a closure running one
    training step of it and a short description of its optimizer and
    precision (the settings share the model: memory)."""
    model, scope, cfg = build(name, reference_dir=args.reference_dir)
    model = model.to(args.device).train()
    if args.compile:
        model.forward = torch.compile(model.forward)
    inputs, samples = make_batch(cfg, scope, args.batch_size, args.device)
    out = {}
    if 'shipped' in settings:
        wrapper, desc = shipped_wrapper(model, cfg, scope, args.device)

        def shipped():
            with wrapper.optim_context(model):
                loss = model(inputs, samples, mode='loss')['loss']
            wrapper.update_params(loss)

        out['shipped'] = shipped, desc
    if 'like' in settings:
        opt = like_for_like_optimizer(model, args.device)
        autocast = (lambda: torch.autocast(
            args.device, dtype=torch.bfloat16)) if args.bf16 \
            else contextlib.nullcontext
        like = training_step(model, opt, inputs, samples, autocast)
        kind = 'fused' if opt.defaults.get('fused') else 'foreach'
        out['like'] = like, f"AdamW({kind}) {'bf16' if args.bf16 else 'fp32'}"
    return out


def sync(device):
    """Wait for the device's queued work (CUDA)."""
    if device == 'cuda':
        torch.cuda.synchronize()


def memory_child(name, args):
    """Run in a fresh process: peak memory growth of one model's steps."""
    step = prepare(name, args)['like'][0]
    step()  # optimizer state exists from here on, as in training
    sync(args.device)
    if args.device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = rss_bytes('VmRSS')
        # Linux: writing 5 to clear_refs resets the peak RSS (VmHWM).
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
    for _ in range(2):
        step()
    sync(args.device)
    if args.device == 'cuda':
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = rss_bytes('VmHWM') - base
    print(json.dumps({'peak_bytes': peak}))


def rss_bytes(field: str) -> int:
    """A size field of ``/proc/self/status`` (Linux), in bytes."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f'{field} not in /proc/self/status')


def profile_parts(target: str, args) -> None:
    """Median seconds of each part of our step, timed one at a time:
    encoder forward + backward, reconstruction stack forward + backward
    (from detached encoder outputs), target + head + loss forward +
    backward, and the optimizer step (like-for-like AdamW)."""
    model, scope, cfg = build(f'semanticmim-{target}')
    model = model.to(args.device).train()
    inputs, samples = make_batch(cfg, scope, args.batch_size, args.device)
    images = inputs[0] if isinstance(inputs, list) else inputs
    view = inputs[-1] if isinstance(inputs, list) else inputs
    mask = torch.stack([s.mask for s in samples])
    opt = like_for_like_optimizer(model, args.device)
    enc = model.backbone(images, mask, None, True)
    states = [s.detach().requires_grad_() for s in enc.proxy_states]
    queries = enc.mask_queries.detach().requires_grad_()
    latent = model.neck(states, queries).detach().requires_grad_()

    def encoder():
        out = model.backbone(images, mask, None, True)
        torch.autograd.backward([s.sum() for s in out.proxy_states] +
                                [out.mask_queries.sum()])

    def stack():
        model.neck(states, queries).sum().backward()

    def head():
        with torch.no_grad():
            tgt = model.target_generator(view)
        model.head.loss(model.backbone.ln1(latent), tgt,
                        enc.pred_index).backward()

    def optimizer():
        opt.step()

    def full():
        model(inputs, samples, mode='loss')['loss'].backward()
        opt.step()
        opt.zero_grad(set_to_none=False)

    parts = dict(
        encoder=encoder,
        reconstruction=stack,
        target_head=head,
        optimizer=optimizer,
        full_step=full)
    times = {k: [] for k in parts}
    for r in range(args.warmup + args.steps):
        for k, fn in parts.items():
            sync(args.device)
            t0 = time.perf_counter()
            fn()
            sync(args.device)
            if r >= args.warmup:
                times[k].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f'profile semanticmim-{target} (median s, parts timed alone):')
    for k, v in med.items():
        share = '' if k == 'full_step' else \
            f'  {100 * v / med["full_step"]:5.1f}% of the full step'
        print(f'  {k:16s} {v:8.3f}{share}')


def run(args: argparse.Namespace, script: str) -> None:
    """Time every arm and setting round robin and print the table and the
    ratios; ``script`` (run with ``--memory-child NAME``) measures one
    arm's peak memory in a fresh process."""
    # building optimizer wrappers logs every parameter group
    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel('ERROR')
    if args.reference_dir:
        args.reference_dir = osp.abspath(args.reference_dir)
        import_reference(args.reference_dir)  # fail early on a wrong folder
    if args.memory_child:
        return memory_child(args.memory_child, args)

    families = ['semanticmim', 'mmpretrain'
                ] + (['reference'] if args.reference_dir else [])
    arms = [(f'{f}-{t}', s) for t in args.targets for s in args.settings
            for f in families]
    names = [f'{f}-{t}' for t in args.targets for f in families]
    times = {arm: [] for arm in arms}
    desc = {}
    for t in args.targets:  # one target's models at a time: memory
        steps = {}
        for f in families:
            for s, (step, d) in prepare(f'{f}-{t}', args,
                                        args.settings).items():
                steps[f'{f}-{t}', s], desc[f'{f}-{t}', s] = step, d
        for r in range(args.warmup + args.steps):
            for arm in steps:  # round robin: noise hits every arm alike
                sync(args.device)
                t0 = time.perf_counter()
                steps[arm]()
                sync(args.device)
                if r >= args.warmup:
                    times[arm].append(time.perf_counter() - t0)
        del steps

    memory = {}
    if not args.no_memory:
        for n in names:
            cmd = [
                sys.executable, script, '--memory-child', n, '--batch-size',
                str(args.batch_size), '--device', args.device
            ] + (['--bf16'] if args.bf16 else []) + ([
                '--reference-dir', args.reference_dir
            ] if args.reference_dir else [])
            out = subprocess.run(
                cmd, capture_output=True, text=True,
                check=True).stdout.strip().splitlines()[-1]
            memory[n] = json.loads(out)['peak_bytes']

    print(f'device={args.device} batch={args.batch_size} steps={args.steps} '
          f'warmup={args.warmup} compile={args.compile} '
          f'torch={torch.__version__} threads={torch.get_num_threads()}')
    print(f"{'arm':22s} {'setting':8s} {'optimizer, precision':34s} "
          f"{'median s/step':>13s} {'images/s':>9s} {'peak MiB':>9s}")
    med = {arm: statistics.median(times[arm]) for arm in arms}
    for arm in arms:
        n, s = arm
        mem = f'{memory[n] / 2**20:9.0f}' if n in memory and s == 'like' \
            else f"{'-':>9s}"
        print(f'{n:22s} {s:8s} {desc[arm]:34s} {med[arm]:13.3f} '
              f'{args.batch_size / med[arm]:9.2f} {mem}')
    for s in args.settings:
        for t in args.targets:
            ours = med[f'semanticmim-{t}', s]
            line = (f'ratio {t} {s}: time ours / mmpretrain '
                    f"{ours / med[f'mmpretrain-{t}', s]:.3f}x")
            if args.reference_dir:
                ref = med[f'reference-{t}', s]
                line += (f', ours / reference {ours / ref:.3f}x '
                         f'(ours {ref / ours:.3f}x as fast)')
            print(line)
    for t in args.targets:
        if memory:
            ratio = memory[f'semanticmim-{t}'] / memory[f'mmpretrain-{t}']
            print(f'ratio {t}: peak memory ours / mmpretrain {ratio:.3f}x')
    if args.profile:
        for t in args.targets:
            profile_parts(t, args)
    if args.device == 'cuda' and args.throughput_batch:
        bf16_throughput(names, args)


def bf16_throughput(names, args):
    """Training images/s with bf16 autocast at a large batch, one model at
    a time (ViT-B/16 at batch 256 by default), like for like."""
    big = argparse.Namespace(**{
        **vars(args), 'bf16': True,
        'batch_size': args.throughput_batch
    })
    print(f'bf16 training throughput, batch {big.batch_size}:')
    rates = {}
    for n in names:
        step = prepare(n, big)['like'][0]
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


def main():
    mmsemanticmim.setup_env()  # weights-only checkpoint loading
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument(
        '--bf16', action='store_true', help='like for like in bf16 autocast')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='torch.compile every model forward')
    parser.add_argument(
        '--targets',
        nargs='+',
        default=['maskfeat', 'beit'],
        choices=['maskfeat', 'beit'])
    parser.add_argument(
        '--reference-dir', help='a yyk-wew/SemanticMIM checkout: add its arms')
    parser.add_argument(
        '--settings',
        nargs='+',
        default=['like', 'shipped'],
        choices=['like', 'shipped'])
    parser.add_argument('--no-memory', action='store_true')
    parser.add_argument(
        '--profile',
        action='store_true',
        help='also time the parts of our step')
    parser.add_argument(
        '--throughput-batch',
        type=int,
        default=256,
        help='on CUDA, also bf16 images/s at this batch '
        '(0: skip)')
    parser.add_argument('--memory-child', help=argparse.SUPPRESS)
    args = parser.parse_args()
    run(args, __file__)


if __name__ == '__main__':
    main()
