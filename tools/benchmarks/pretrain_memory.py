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
    python tools/benchmarks/pretrain_memory.py [--archs base large]
        [--models semanticmim-maskfeat mmpretrain-maskfeat ...]
        [--modes single ddp ddp_cp fsdp fsdp_cp] [--nproc 2] [--batch-size 8]
        [--steps 2]

Prints one row per model and mode (peak MiB per process; "failed" where a
run died, e.g. for memory, with the end of its log) and, per arch, the
ratio of SemanticMIM's FSDP peaks to mmpretrain MaskFeat's single-process
peak at the same per-process batch.
"""
import argparse

import mmsemanticmim  # registers the components
from mmsemanticmim.benchmarks.pretrain_memory import MODELS, MODES, run


def main():
    mmsemanticmim.setup_env()  # weights-only checkpoint loading
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--archs', nargs='+', default=['base', 'large'])
    parser.add_argument('--models', nargs='+', default=list(MODELS),
                        choices=MODELS)
    parser.add_argument('--modes', nargs='+', default=list(MODES),
                        choices=MODES)
    parser.add_argument('--nproc', type=int, default=2)
    parser.add_argument('--batch-size', type=int, default=8,
                        help='per process')
    parser.add_argument('--steps', type=int, default=2)
    parser.add_argument('--port', type=int, default=29517)
    parser.add_argument('--child', action='store_true',
                        help=argparse.SUPPRESS)
    parser.add_argument('--model', help=argparse.SUPPRESS)
    parser.add_argument('--arch', help=argparse.SUPPRESS)
    parser.add_argument('--mode', help=argparse.SUPPRESS)
    args = parser.parse_args()
    run(args, __file__)


if __name__ == '__main__':
    main()
