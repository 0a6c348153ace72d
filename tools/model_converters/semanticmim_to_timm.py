"""Convert a SemanticMIM encoder checkpoint to a timm VisionTransformer.

Reads a pre-training, extracted or fine-tuned checkpoint (either layer
flavour, any proxy count, width, depth, patch and image size). ``OUT`` a
folder (no ``.safetensors`` suffix): timm's own format, ``config.json`` and
``model.safetensors``:

    model = timm.create_model('local-dir:OUT', pretrained=True)

``OUT.safetensors``: the weights, and ``OUT.json`` holding the
``timm.create_model`` arguments and the ``pretrained_cfg_overlay``:

    cfg = json.load(open('vit.json'))
    model = timm.create_model(
        cfg['model_name'], pretrained=True, pretrained_cfg_overlay=dict(
            cfg['pretrained_cfg'], file='vit.safetensors'),
        **cfg['model_args'])

Usage: python tools/model_converters/semanticmim_to_timm.py IN OUT
           [--img-size H [W]] [--drop-pooling-norm] [--mean R G B]
           [--std R G B] [--num-heads N]
"""
import argparse
import json
import os.path as osp
import sys

import mmsemanticmim  # registers the components
from mmsemanticmim.checkpoint import (UnsafeCheckpointError,
                                      write_timm_checkpoint)
from mmsemanticmim.checkpoint.timm_files import (FOLDER_CONFIG, FOLDER_WEIGHTS,
                                                 is_timm_folder_target,
                                                 json_path)
from mmsemanticmim.utils.image_norm import (IMAGENET_MEAN_UNIT,
                                            IMAGENET_STD_UNIT)


def main():
    mmsemanticmim.setup_env()  # weights-only checkpoint loading
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='SemanticMIM checkpoint (.pth)')
    parser.add_argument(
        'dst',
        help="a folder in timm's format (config.json + "
        "model.safetensors, for timm.create_model('local-dir:DST', "
        'pretrained=True)), or a .safetensors file (+ a .json beside)')
    parser.add_argument(
        '--img-size',
        type=int,
        nargs='+',
        metavar='S',
        help='input size the timm model is built for (H [W]); the position '
        "embedding is resized as our encoder resizes it (default: the "
        "checkpoint's size)")
    parser.add_argument(
        '--drop-pooling-norm',
        action='store_true',
        help='for an encoder with both ln1 and ln2: keep ln1 as timm norm, '
        'drop ln2')
    parser.add_argument(
        '--mean', type=float, nargs=3, default=IMAGENET_MEAN_UNIT)
    parser.add_argument(
        '--std', type=float, nargs=3, default=IMAGENET_STD_UNIT)
    parser.add_argument(
        '--num-heads',
        type=int,
        metavar='N',
        help='the head count, for a checkpoint that does '
        'not record it')
    args = parser.parse_args()
    try:
        cfg = write_timm_checkpoint(args.src, args.dst, args.img_size,
                                    args.drop_pooling_norm, args.mean,
                                    args.std, args.num_heads)
    except (ValueError, ImportError, UnsafeCheckpointError) as e:
        sys.exit(f'error: {e}')
    if is_timm_folder_target(args.dst):
        written = (f'{osp.join(args.dst, FOLDER_CONFIG)} and '
                   f'{osp.join(args.dst, FOLDER_WEIGHTS)}')
    else:
        written = f'{args.dst} and {json_path(args.dst)}'
    print(f"wrote {written}: {json.dumps(cfg['model_args'])}")


if __name__ == '__main__':
    main()
