"""Fixed-seed numbers of every tiny pre-training config and of ViT-B, to
show that a refactor changes no number.

Each case builds a config's model from a fixed seed and records, as sha256
digests of the raw bytes: the pre-training loss on fixed images and masks,
the masked encoder's outputs, the encoder's downstream features, and the
features of an encoder loaded from the pre-training checkpoint at another
input size (the position-embedding resize of every loader). Alongside each
digest go float64 sums, so that a mismatch says how far off it is.

Bit-identical holds only for the same kernels: the reference is keyed by
torch version and CPU capability (oneDNN picks kernels by instruction set).
``tests/test_behaviour.py`` compares digests where the key matches and the
sums at float tolerance elsewhere.

Record (from a commit whose numbers are the reference)::

    python tests/behaviour_cases.py --record
"""
import argparse
import hashlib
import json
import os.path as osp
import sys
import tempfile
from contextlib import contextmanager

import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
REFERENCE = osp.join(REPO, 'tests', 'data', 'behaviour_reference.json')

#: Config files (under configs/semanticmim/) whose model is checked, and the
#: batch size of the check. ViT-B at batch 2 keeps the check to seconds.
CASES = {
    'semanticmim-maskfeat_vit-tiny-p4_1xb64-coslr-10e_mnist-demo.py': 4,
    'semanticmim-beit_vit-tiny-p4_1xb64-coslr-10e_mnist-demo.py': 4,
    'semanticmim-pixel_vit-tiny-p4_1xb64-coslr-10e_mnist-demo.py': 4,
    'baseline-maskfeat_vit-tiny-p4_1xb64-coslr-10e_mnist-demo.py': 4,
    'baseline-pixel_vit-tiny-p4_1xb64-coslr-10e_mnist-demo.py': 4,
    'semanticmim-maskfeat_vit-base-p16_8xb256-amp-coslr-300e_in1k.py': 2,
    'semanticmim-beit_vit-base-p16_8xb256-amp-coslr-300e_in1k.py': 2,
}
MASK_RATIO = 0.6


def _has_amx() -> bool:
    """Whether the CPU has AMX tiles (Linux ``/proc/cpuinfo``): the same
    ISA level with and without them has given other last bits."""
    try:
        with open('/proc/cpuinfo') as f:
            return any(
                line.startswith('flags') and ' amx_tile' in line for line in f)
    except OSError:
        return False


def platform_key() -> str:
    """Which kernels computed the numbers: torch version and CPU ISA
    (``-AMX`` where the CPU has AMX tiles)."""
    isa = torch.backends.cpu.get_cpu_capability() if hasattr(
        torch.backends, 'cpu') and hasattr(torch.backends.cpu,
                                           'get_cpu_capability') else 'unknown'
    amx = '-AMX' if _has_amx() else ''
    return f"torch-{torch.__version__.split('+')[0]}-{isa}{amx}"


@contextmanager
def _one_thread():
    """One intra-op thread: reductions in one order whatever the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _summary(t: torch.Tensor) -> dict:
    t = t.detach().cpu().contiguous()
    return dict(
        sha256=hashlib.sha256(t.numpy().tobytes()).hexdigest(),
        shape=list(t.shape),
        sum=float(t.double().sum()),
        abs_sum=float(t.double().abs().sum()))


def _model_cfg(name: str):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'semanticmim', name))
    model = cfg.model
    generator = model.get('target_generator') or {}
    # no download: the tokenizer's weights are drawn from the seed too
    generator.pop('init_cfg', None)
    return model


def _masks(batch: int, grid, generator: torch.Generator) -> torch.Tensor:
    n = grid[0] * grid[1]
    k = int(round(n * MASK_RATIO))
    masks = torch.zeros(batch, n, dtype=torch.bool)
    for i in range(batch):
        masks[i, torch.randperm(n, generator=generator)[:k]] = True
    return masks.reshape(batch, *grid)


def _encoding_parts(enc) -> dict:
    """The masked encoder's outputs by what they are: the per-layer proxy
    states (stacked; None in baseline mode), what the [MASK] tokens hand on
    (the queries with the bottleneck, their encoder outputs in baseline
    mode) and the predicted positions."""
    states = enc.proxy_states
    if hasattr(enc, 'mask_tokens'):
        latent = enc.mask_tokens
    else:
        latent = enc.mask_queries if states is not None else enc.mask_outputs
    return dict(
        proxy_states=None if states is None else torch.stack(states),
        mask_latent=latent,
        pred_index=enc.pred_index)


def run_case(name: str, batch: int) -> dict:
    """The numbers of one config's model (see the module docstring)."""
    from mmpretrain.structures import DataSample

    from mmsemanticmim.models.backbones import SemanticMIMViT
    from mmsemanticmim.registry import MODELS
    from mmsemanticmim.utils import register_all_modules
    register_all_modules()
    out = {}
    with _one_thread():
        torch.manual_seed(0)
        model = MODELS.build(_model_cfg(name))
        model.init_weights()
        backbone = model.backbone
        size = backbone.img_size
        grid = backbone.patch_resolution
        g = torch.Generator().manual_seed(1)
        images = torch.randn(batch, 3, *size, generator=g)
        masks = _masks(batch, grid, g)
        samples = [DataSample().set_mask(m) for m in masks]
        inputs = images
        if getattr(model, 'target_generator', None) is not None and \
                type(model.target_generator).__name__ != 'PatchHOGGenerator':
            # a tokenizer view with 8x downsampling onto the patch grid
            view = torch.randn(batch, 3, grid[0] * 8, grid[1] * 8, generator=g)
            inputs = [images, view]

        model.train()
        torch.manual_seed(2)  # drop path
        loss = model.loss(inputs, samples)['loss']
        out['loss'] = _summary(loss)
        model.eval()
        with torch.no_grad():
            enc = backbone(images, masks, None, model.bottleneck)
            for part, value in _encoding_parts(enc).items():
                if value is not None:
                    out[f'masked_encoding.{part}'] = _summary(value)
            out['features'] = _summary(backbone(images)[0])

        with tempfile.TemporaryDirectory() as tmp:
            path = osp.join(tmp, 'pretrain.pth')
            meta = backbone.checkpoint_meta()
            meta = meta.to_dict() if hasattr(meta, 'to_dict') else meta
            torch.save(
                dict(
                    state_dict=model.state_dict(),
                    meta=dict(semanticmim_backbone=meta)), path)
            larger = (size[0] + 2 * backbone.patch_size,
                      size[1] + 2 * backbone.patch_size)
            encoder = SemanticMIMViT.from_checkpoint(
                path, img_size=larger, out_type='featmap')
            encoder.eval()
            with torch.no_grad():
                x = torch.randn(batch, 3, *larger, generator=g)
                out['transfer_features'] = _summary(encoder(x)[0])
    return out


def run_all() -> dict:
    return {name: run_case(name, batch) for name, batch in CASES.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--record',
        action='store_true',
        help='write this platform\'s numbers into '
        'tests/data/behaviour_reference.json')
    args = parser.parse_args()
    numbers = run_all()
    if not args.record:
        json.dump(numbers, sys.stdout, indent=1)
        return
    reference = {}
    if osp.isfile(REFERENCE):
        with open(REFERENCE) as f:
            reference = json.load(f)
    reference[platform_key()] = numbers
    with open(REFERENCE, 'w') as f:
        json.dump(reference, f, indent=1, sort_keys=True)
        f.write('\n')
    print(f'recorded {platform_key()} in {REFERENCE}')


if __name__ == '__main__':
    main()
