"""Attention in numbers per layer and head, as tables and a figure
(``tools/analysis/attention_report.py``).
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from .attention_maps import load_image
from .attention_stats import attention_statistics, patch_distances
from .frozen_features import image_folder_batches, load_frozen_encoder
from .report_files import integer_layers, write_report_files


def load_images(img_size: int,
                mean: Sequence[float],
                std: Sequence[float],
                data_root: Optional[str] = None,
                split: str = 'val',
                per_class: int = 8,
                image: Optional[str] = None,
                sample: str = 'astronaut') -> torch.Tensor:
    """(B, 3, S, S) normalised images: from a class folder, a file or a
    sample photo."""
    if data_root:
        return torch.cat([
            img for img, _ in image_folder_batches(
                data_root, split, img_size, mean, std, max_per_class=per_class)
        ])
    img = torch.from_numpy(load_image(image, sample, img_size)).float()
    img = img.permute(2, 0, 1)[None]
    return (img - torch.tensor(mean).view(
        1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


def checkpoint_statistics(checkpoint: str,
                          images_for,
                          img_size=None,
                          device: str = 'cpu') -> dict:
    """Per-layer, per-head statistics of one checkpoint as lists;
    ``images_for(size)`` gives the normalised images at a side."""
    encoder = load_frozen_encoder(checkpoint, out_type='raw').to(device)
    size = img_size or encoder.img_size[0]
    stats = attention_statistics(encoder, images_for(size))
    hw = stats.pop('hw').tolist()
    n = hw[0] * hw[1]
    return dict(
        grid=hw,
        num_proxies=encoder.num_proxy_tokens,
        uniform_distance=float(patch_distances(hw).mean()),
        uniform_entropy=float(np.log(n)),
        **{
            k: v.tolist()
            for k, v in stats.items()
        })


def markdown(results: Dict[str, dict], caption: str = '') -> str:
    """Rows: checkpoint x layer; head-mean and per-head range of distance
    and entropy, and the proxy share."""
    lines = [caption, ''] if caption else []
    lines += [
        '| checkpoint | layer | distance (patches), head mean | '
        'distance, heads min-max | entropy (nats), head mean | '
        'entropy, heads min-max | proxy share (%) |',
        '|---|---|---|---|---|---|---|'
    ]
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
                            '(patches)'), ('entropy', axes[1],
                                           'attention entropy (nats)')):
        for c, (name, s) in enumerate(results.items()):
            values = np.asarray(s[key])  # (layers, heads)
            layers = np.arange(values.shape[0])
            color = colors[c % 10]
            offset = (c - (len(results) - 1) / 2) * 0.06
            ax.scatter(
                np.repeat(layers, values.shape[1]) + offset,
                values.flatten(),
                s=8,
                alpha=0.4,
                color=color)
            ax.plot(
                layers, values.mean(1), '-o', ms=3, color=color, label=name)
            ax.axhline(s[f'uniform_{key}'], ls=':', lw=0.8, color=color)
        ax.set_xlabel('layer')
        ax.set_ylabel(label)
        integer_layers(ax)
    axes[1].legend(
        *axes[0].get_legend_handles_labels(),
        fontsize=7,
        loc='upper left',
        bbox_to_anchor=(1.02, 1))


def write_report(results: Dict[str, dict],
                 out_dir: str,
                 caption: str = '') -> str:
    """``attention.{md,json,png}`` in ``out_dir``; returns the table."""
    return write_report_files(out_dir, 'attention', markdown(results,
                                                             caption), results,
                              lambda axes: draw(results, axes), caption)


def attention_report(checkpoints: Sequence[str],
                     names: List[str],
                     out_dir: str,
                     mean: Sequence[float],
                     std: Sequence[float],
                     img_size: Optional[int] = None,
                     device: str = 'cpu',
                     caption: str = '',
                     **image_args) -> str:
    """Statistics of every checkpoint, written as :func:`write_report`."""
    cache = {}

    def images_for(size):
        if size not in cache:
            cache[size] = load_images(size, mean, std, **image_args)
        return cache[size]

    results = {
        name: checkpoint_statistics(ckpt, images_for, img_size, device)
        for name, ckpt in zip(names, checkpoints)
    }
    return write_report(results, out_dir, caption)
