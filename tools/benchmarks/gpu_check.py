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
import sys

import mmsemanticmim  # registers the components
import torch
from mmsemanticmim.benchmarks.gpu_check import run


def main():
    mmsemanticmim.setup_env()  # weights-only checkpoint loading
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--dry-run', action='store_true',
                        help='CPU, tiny models: test the script')
    parser.add_argument('--batch-size', type=int, default=256)
    parser.add_argument('--steps', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--train-steps', type=int, default=50)
    parser.add_argument('--train-batch', type=int, default=64)
    parser.add_argument('--workers', type=int, default=8)
    parser.add_argument('--peak-tflops', type=float, default=989.0,
                        help='dense bf16 peak of the GPU (H100/H200 SXM)')
    parser.add_argument('--parts', nargs='+',
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
