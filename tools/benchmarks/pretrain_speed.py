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
    python tools/benchmarks/pretrain_speed.py [--batch-size 8] [--steps 5]
        [--warmup 2] [--device cpu|cuda] [--bf16] [--compile]
        [--targets maskfeat beit] [--reference-dir DIR]
        [--settings like shipped] [--no-memory] [--profile]
        [--throughput-batch 256]

Prints one row per arm and setting, the ratios ours / mmpretrain and
ours / reference per setting; on CUDA also the bf16 training throughput
(images/s) at batch 256.
"""
import argparse

import mmsemanticmim  # registers the components
import torch
from mmsemanticmim.benchmarks.pretrain_speed import run


def main():
    mmsemanticmim.setup_env()  # weights-only checkpoint loading
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--device', default='cuda'
                        if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--bf16', action='store_true',
                        help='like for like in bf16 autocast')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile every model forward')
    parser.add_argument('--targets', nargs='+', default=['maskfeat', 'beit'],
                        choices=['maskfeat', 'beit'])
    parser.add_argument('--reference-dir',
                        help='a yyk-wew/SemanticMIM checkout: add its arms')
    parser.add_argument('--settings', nargs='+', default=['like', 'shipped'],
                        choices=['like', 'shipped'])
    parser.add_argument('--no-memory', action='store_true')
    parser.add_argument('--profile', action='store_true',
                        help='also time the parts of our step')
    parser.add_argument('--throughput-batch', type=int, default=256,
                        help='on CUDA, also bf16 images/s at this batch '
                        '(0: skip)')
    parser.add_argument('--memory-child', help=argparse.SUPPRESS)
    args = parser.parse_args()
    run(args, __file__)


if __name__ == '__main__':
    main()
