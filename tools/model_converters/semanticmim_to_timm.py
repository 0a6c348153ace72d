"""Convert a SemanticMIM encoder checkpoint to a timm VisionTransformer.

Reads a pre-training, extracted or fine-tuned checkpoint (either layer
flavour, any proxy count, width, depth, patch and image size) and writes
``OUT`` (safetensors) plus ``OUT`` with a ``.json`` suffix holding the
``timm.create_model`` arguments and the ``pretrained_cfg_overlay``:

    cfg = json.load(open('vit.json'))
    model = timm.create_model(
        cfg['model_name'], pretrained=True, pretrained_cfg_overlay=dict(
            cfg['pretrained_cfg'], file='vit.safetensors'),
        **cfg['model_args'])

Usage: python tools/model_converters/semanticmim_to_timm.py IN OUT
           [--img-size H [W]] [--drop-pooling-norm] [--mean R G B]
           [--std R G B]
"""
import argparse
import json
import sys

import mmsemanticmim  # noqa: F401  (compat guards first)
from mmsemanticmim.models.backbones.timm_files import (json_path,
                                                       write_timm_checkpoint)
from mmsemanticmim.models.backbones.timm_interop import (IMAGENET_MEAN,
                                                         IMAGENET_STD)
from mmsemanticmim.utils import UnsafeCheckpointError


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='SemanticMIM checkpoint (.pth)')
    parser.add_argument('dst', help='output weights (.safetensors)')
    parser.add_argument(
        '--img-size', type=int, nargs='+', metavar='S',
        help='input size the timm model is built for (H [W]); the position '
        "embedding is resized as our encoder resizes it (default: the "
        "checkpoint's size)")
    parser.add_argument(
        '--drop-pooling-norm', action='store_true',
        help='for an encoder with both ln1 and ln2: keep ln1 as timm norm, '
        'drop ln2')
    parser.add_argument('--mean', type=float, nargs=3, default=IMAGENET_MEAN)
    parser.add_argument('--std', type=float, nargs=3, default=IMAGENET_STD)
    args = parser.parse_args()
    if not args.dst.endswith('.safetensors'):
        parser.error('dst must end with .safetensors')
    try:
        cfg = write_timm_checkpoint(args.src, args.dst, args.img_size,
                                    args.drop_pooling_norm, args.mean,
                                    args.std)
    except (ValueError, ImportError, UnsafeCheckpointError) as e:
        sys.exit(f'error: {e}')
    print(f'wrote {args.dst} and {json_path(args.dst)}: '
          f"{json.dumps(cfg['model_args'])}")


if __name__ == '__main__':
    main()
