"""Check the claim on your data: the four study arms at ViT-S/16 on N GPUs.

Pre-trains each arm of the GPU study preset (SemanticMIM and its MIM
baseline, for the HOG and the normalised-pixel target:
``configs/semanticmim/*_vit-small-p16_8xb128-amp-coslr-100e_in100.py``) on
an ImageNet-format folder with ``tools/dist_train.sh``, then runs the
layer-wise representation report (k-NN and linear probe of patch-mean,
proxy-mean and concatenated features per layer, plus a randomly
initialised ViT-S) and the attention report (mean distance, entropy, proxy
share per layer and head) on the four final checkpoints.

DATA holds ``train/<class>/*`` and ``val/<class>/*`` (e.g. ImageNet-100).
The lr follows the real batch (``--auto-scale-lr``: 8e-4 at 1024 images);
an arm whose final checkpoint exists is not trained again, and an
interrupted one resumes (``--auto-resume``); each arm's folder records its
settings (``study_settings.json``) and is refused for other settings.
Writes into WORK_DIR: one folder per arm, ``representation.{md,json,png}``,
``attention.{md,json,png}`` and ``summary.md``.

Usage:
    python tools/analysis/semanticmim_study_gpu.py --data-root DATA
        --gpus 8 [--work-dir work_dirs/study_gpu] [--epochs 100]
        [--batch-size 128] [--arms semanticmim-maskfeat ...]
        [--max-per-class 100] [--attention-per-class 2] [--device cuda]
        [--cfg-options KEY=VALUE ...]
"""
import argparse

import mmsemanticmim  # registers the components
import torch
from mmsemanticmim.analysis.study_gpu import ARMS, PRESET_EPOCHS, run_study


def main(argv=None):
    mmsemanticmim.setup_env()  # weights-only checkpoint loading
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', required=True)
    parser.add_argument('--gpus', type=int, required=True,
                        help='processes (GPUs) per arm')
    parser.add_argument('--work-dir', default='work_dirs/study_gpu')
    parser.add_argument('--epochs', type=int, default=PRESET_EPOCHS)
    parser.add_argument('--batch-size', type=int,
                        help='images per GPU (default: the config\'s 128)')
    parser.add_argument('--arms', nargs='+', choices=list(ARMS),
                        default=list(ARMS))
    parser.add_argument('--max-per-class', type=int, default=100,
                        help='images of each class the probes use (0: all)')
    parser.add_argument('--attention-per-class', type=int, default=2)
    parser.add_argument('--device',
                        default='cuda' if torch.cuda.is_available() else
                        'cpu', help='where the reports run')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='more KEY=VALUE overrides for every arm')
    args = parser.parse_args(argv)
    if args.gpus < 1:
        parser.error('--gpus must be >= 1')
    if args.epochs < 2:
        parser.error('--epochs must be >= 2 (warm-up, then cosine)')
    print(run_study(args))


if __name__ == '__main__':
    main()
