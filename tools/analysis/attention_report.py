"""Attention in numbers: mean attention distance and entropy per layer.

For each checkpoint, the attention maps the visualisation draws
(``SemanticMIMViT.attention_maps``) over a set of images give, per layer and
head, the mean attention distance of patch queries (in patches,
attention-weighted), the entropy of their attention over the patches
(nats), and the share of their attention that goes to the proxies (see
``mmsemanticmim.evaluation.attention_stats``). Writes into OUT_DIR:
``attention.md`` (head-averaged figures, and the per-head spread),
``attention.json`` (per head) and ``attention.png`` (distance and entropy vs
layer; a dot per head, a line for the head mean).

Usage:
    python tools/analysis/attention_report.py CKPT [CKPT ...] --out-dir OUT
        [--data-root DIR [--split val] [--per-class 8] | --image FILE |
         --sample astronaut] [--names A B] [--img-size S]
        [--mean R G B] [--std R G B] [--device cpu]

Images: the first ``--per-class`` images of each class of DIR/SPLIT, else
one file, else a scikit-image sample photo.
"""
import argparse
import os.path as osp
from typing import Dict, List, Optional, Sequence

import mmsemanticmim  # noqa: F401  (compat guards first)
import numpy as np
import torch
from report_files import (add_image_args, checkpoint_names, integer_layers,
                          write_report_files)
from visualize_attention import load_image

from mmsemanticmim.evaluation import (attention_statistics,
                                      image_folder_batches,
                                      load_frozen_encoder, patch_distances)


def load_images(img_size: int, mean: Sequence[float], std: Sequence[float],
                data_root: Optional[str] = None, split: str = 'val',
                per_class: int = 8, image: Optional[str] = None,
                sample: str = 'astronaut') -> torch.Tensor:
    """(B, 3, S, S) normalised images: from a class folder, a file or a
    sample photo."""
    if data_root:
        return torch.cat([
            img for img, _ in image_folder_batches(
                data_root, split, img_size, mean, std,
                max_per_class=per_class)
        ])
    img = torch.from_numpy(load_image(image, sample, img_size)).float()
    img = img.permute(2, 0, 1)[None]
    return (img - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(
        std).view(1, 3, 1, 1)


def checkpoint_statistics(checkpoint: str, images_for, img_size=None,
                          device: str = 'cpu') -> dict:
    """Per-layer, per-head statistics of one checkpoint as lists;
    ``images_for(size)`` gives the normalised images at a side."""
    encoder = load_frozen_encoder(checkpoint, out_type='raw').to(device)
    size = img_size or encoder.img_size[0]
    stats = attention_statistics(encoder, images_for(size))
    hw = stats.pop('hw').tolist()
    n = hw[0] * hw[1]
    return dict(grid=hw, num_proxies=encoder.num_proxy_tokens,
                uniform_distance=float(patch_distances(hw).mean()),
                uniform_entropy=float(np.log(n)),
                **{k: v.tolist() for k, v in stats.items()})


def markdown(results: Dict[str, dict], caption: str = '') -> str:
    """Rows: checkpoint x layer; head-mean and per-head range of distance
    and entropy, and the proxy share."""
    lines = [caption, ''] if caption else []
    lines += ['| checkpoint | layer | distance (patches), head mean | '
              'distance, heads min-max | entropy (nats), head mean | '
              'entropy, heads min-max | proxy share (%) |',
              '|---|---|---|---|---|---|---|']
    for name, s in results.items():
        for layer, (dist, ent, share) in enumerate(
                zip(s['distance'], s['entropy'], s['proxy_share'])):
            lines.append(
                f'| {name} | {layer} | {np.mean(dist):.2f} | '
                f'{min(dist):.2f}-{max(dist):.2f} | {np.mean(ent):.2f} | '
                f'{min(ent):.2f}-{max(ent):.2f} | '
                f'{100 * np.mean(share):.1f} |')
    lines.append('')
    for name, s in results.items():
        lines.append(
            f"- {name}: {s['grid'][0]}x{s['grid'][1]} patches, "
            f"{s['num_proxies']} proxies; uniform attention would give "
            f"distance {s['uniform_distance']:.2f}, entropy "
            f"{s['uniform_entropy']:.2f}")
    lines.append('\nLayers count from 0. Distance and entropy are over the '
                 "patch keys (a query's proxy weights renormalised away); "
                 'the proxy share is the weight patch queries give the '
                 'proxies.')
    return '\n'.join(lines)


def draw(results: Dict[str, dict], axes) -> None:
    """Distance and entropy vs layer: a dot per head, a line for the mean,
    a dotted line for uniform attention."""
    import matplotlib.pyplot as plt
    colors = plt.cm.tab10.colors
    for key, ax, label in (('distance', axes[0], 'mean attention distance '
                            '(patches)'),
                           ('entropy', axes[1], 'attention entropy (nats)')):
        for c, (name, s) in enumerate(results.items()):
            values = np.asarray(s[key])  # (layers, heads)
            layers = np.arange(values.shape[0])
            color = colors[c % 10]
            offset = (c - (len(results) - 1) / 2) * 0.06
            ax.scatter(np.repeat(layers, values.shape[1]) + offset,
                       values.flatten(), s=8, alpha=0.4, color=color)
            ax.plot(layers, values.mean(1), '-o', ms=3, color=color,
                    label=name)
            ax.axhline(s[f'uniform_{key}'], ls=':', lw=0.8, color=color)
        ax.set_xlabel('layer')
        ax.set_ylabel(label)
        integer_layers(ax)
    axes[1].legend(*axes[0].get_legend_handles_labels(), fontsize=7,
                   loc='upper left', bbox_to_anchor=(1.02, 1))


def write_report(results: Dict[str, dict], out_dir: str,
                 caption: str = '') -> str:
    """``attention.{md,json,png}`` in ``out_dir``; returns the table."""
    return write_report_files(out_dir, 'attention',
                              markdown(results, caption), results,
                              lambda axes: draw(results, axes), caption)


def attention_report(checkpoints: Sequence[str], names: List[str],
                     out_dir: str, mean: Sequence[float],
                     std: Sequence[float], img_size: Optional[int] = None,
                     device: str = 'cpu', caption: str = '',
                     **image_args) -> str:
    """Statistics of every checkpoint, written as :func:`write_report`."""
    cache = {}

    def images_for(size):
        if size not in cache:
            cache[size] = load_images(size, mean, std, **image_args)
        return cache[size]

    results = {name: checkpoint_statistics(ckpt, images_for, img_size,
                                           device)
               for name, ckpt in zip(names, checkpoints)}
    return write_report(results, out_dir, caption)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoints', nargs='+')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--names', nargs='+')
    parser.add_argument('--data-root', help='class folder of images')
    parser.add_argument('--split', default='val')
    parser.add_argument('--per-class', type=int, default=8,
                        help='images of each class (with --data-root)')
    parser.add_argument('--image', help='one image file')
    parser.add_argument('--sample', default='astronaut',
                        help='scikit-image sample photo name')
    add_image_args(parser)
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    names = checkpoint_names(parser, args)
    if args.data_root and not osp.isdir(osp.join(args.data_root,
                                                 args.split)):
        parser.error(f'{args.data_root}/{args.split} not found')
    if args.per_class < 1:
        parser.error(f'--per-class must be >= 1, got {args.per_class}')
    source = (f'{args.data_root}/{args.split}, {args.per_class} images a '
              'class' if args.data_root else args.image or args.sample)
    print(attention_report(
        args.checkpoints, names, args.out_dir, args.mean, args.std,
        args.img_size, args.device, caption=f'Attention over {source}',
        data_root=args.data_root, split=args.split,
        per_class=args.per_class, image=args.image, sample=args.sample))


if __name__ == '__main__':
    main()
