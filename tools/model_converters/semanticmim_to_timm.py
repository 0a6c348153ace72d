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
import os.path as osp
import sys

import mmsemanticmim  # noqa: F401  (compat guards first)
from mmsemanticmim.models.backbones.checkpoint_meta import (
    META_KEY, load_encoder_checkpoint)
from mmsemanticmim.models.backbones.timm_interop import (
    IMAGENET_MEAN, IMAGENET_STD, TIMM_MODEL_NAME, encoder_to_timm,
    pretrained_cfg)
from mmsemanticmim.utils import UnsafeCheckpointError
from mmsemanticmim.utils.output_files import (refuse_overwriting_input,
                                              written_atomically)


def json_path(weights: str) -> str:
    """The arguments file written beside ``weights``."""
    return osp.splitext(weights)[0] + '.json'


def convert(src: str, dst: str, img_size=None, drop_pooling_norm=False,
            mean=IMAGENET_MEAN, std=IMAGENET_STD) -> dict:
    """Write ``dst`` (safetensors) and its json; returns the json dict."""
    try:
        from safetensors.torch import save_file
    except ImportError:
        sys.exit('safetensors is missing: pip install safetensors '
                 '(or pip install -e .[optional])')
    refuse_overwriting_input([dst, json_path(dst)], [src])
    ckpt = load_encoder_checkpoint(src)
    meta = {k: v for k, v in ckpt['meta'].items() if k != 'num_heads_inferred'}
    if ckpt['meta']['num_heads_inferred']:
        print(f'warning: {src} does not record its head count; assuming '
              f"{meta['num_heads']} heads of 64 channels.")
    if img_size is not None and len(img_size) == 1:
        img_size = [img_size[0]] * 2
    tstate, args = encoder_to_timm(
        ckpt['state'], meta, img_size=img_size,
        drop_pooling_norm=drop_pooling_norm, head=ckpt['head'], source=src)
    cfg = dict(
        model_name=TIMM_MODEL_NAME,
        model_args=args,
        pretrained_cfg=pretrained_cfg(args, mean, std),
        **{META_KEY: meta})
    with written_atomically(dst) as tmp:
        save_file(tstate, tmp, metadata={'timm_config': json.dumps(cfg)})
    with written_atomically(json_path(dst)) as tmp, open(tmp, 'w') as f:
        json.dump(cfg, f, indent=2)
    return cfg


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
        cfg = convert(args.src, args.dst, args.img_size,
                      args.drop_pooling_norm, args.mean, args.std)
    except (ValueError, UnsafeCheckpointError) as e:
        sys.exit(f'error: {e}')
    print(f'wrote {args.dst} and {json_path(args.dst)}: '
          f"{json.dumps(cfg['model_args'])}")


if __name__ == '__main__':
    main()
