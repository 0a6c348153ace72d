"""Attention maps of patch queries and [PROXY] tokens over the image, as in
the paper's Figure 1 (``tools/analysis/visualize_attention.py``).
"""
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from mmsemanticmim.models import SemanticMIMViT
from mmsemanticmim.utils.image_norm import IMAGENET_MEAN, IMAGENET_STD


def normalisation_of(path: str):
    """``(mean, std)`` the checkpoint at ``path`` was trained with (its
    recorded config's ``data_preprocessor``), or ImageNet's with a
    warning."""
    import warnings

    from mmsemanticmim.checkpoint import read_checkpoint
    from mmsemanticmim.utils.config_text import training_normalisation
    ckpt = read_checkpoint(path)
    cfg = (ckpt.get('meta') or {}).get('cfg') if isinstance(ckpt, dict) \
        else None
    found = training_normalisation(cfg)
    if found is None:
        warnings.warn(f'{path} records no data_preprocessor mean/std; '
                      "normalising with ImageNet's. Pass --mean/--std if it "
                      'was trained with other statistics.')
        return IMAGENET_MEAN, IMAGENET_STD
    return found


def load_image(path: Optional[str], sample: str, size: int) -> np.ndarray:
    """An RGB uint8 image, square-resized: a file, or a scikit-image sample
    photo (bundled with the package, nothing is downloaded)."""
    import cv2
    if path:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise OSError(f'Cannot read image {path}')
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    else:
        import skimage.data
        if not hasattr(skimage.data, sample):
            raise ValueError(f'scikit-image has no sample {sample!r}')
        img = getattr(skimage.data, sample)()
        if img.ndim == 2:
            img = np.stack([img] * 3, -1)
    return cv2.resize(img[..., :3], (size, size), interpolation=cv2.INTER_AREA)


def attention_rows(encoder: SemanticMIMViT,
                   img: np.ndarray,
                   queries: Sequence[Tuple[float, float]],
                   layers: Sequence[int],
                   subtract_proxy_mean: bool,
                   mean: Sequence[float] = IMAGENET_MEAN,
                   std: Sequence[float] = IMAGENET_STD):
    """Per layer: (Q + Np, h, w) maps over the patch grid and the query
    patch indices (row, col); ``img`` is normalised with ``mean``/``std``
    (0-255 scale)."""
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float()
    x = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(
        1, 3, 1, 1)
    h = w = img.shape[0] // encoder.patch_size
    Np = encoder.num_proxy_tokens
    cells = [(min(int(r * h), h - 1), min(int(c * w), w - 1))
             for r, c in queries]
    maps = encoder.attention_maps(x)
    out = []
    for i in layers:
        attn = maps[i][0]  # (T, T)
        rows = [attn[Np + r * w + c, Np:] for r, c in cells]
        proxy_rows = [attn[p, Np:] for p in range(Np)]
        if subtract_proxy_mean and proxy_rows:
            mean = torch.stack(proxy_rows).mean(0)
            rows = [row - mean for row in rows]
        out.append(torch.stack(rows + proxy_rows).view(-1, h, w))
    return out, cells


def draw(panels, img: np.ndarray, names: List[str], patch: int,
         layers: Sequence[int], out_file: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle
    n_rows = max(len(p[0][0]) for p in panels)
    n_cols = sum(len(layers) + 1 for _ in panels)
    fig, axes = plt.subplots(
        n_rows,
        n_cols,
        squeeze=False,
        figsize=(1.6 * n_cols, 1.6 * n_rows),
        dpi=100)
    for ax in axes.flat:
        ax.axis('off')
    col = 0
    colors = plt.cm.tab10.colors
    for (rows_per_layer, cells, num_proxies), name in zip(panels, names):
        ax = axes[0, col]
        ax.imshow(img)
        for q, (r, c) in enumerate(cells):
            ax.add_patch(
                Rectangle((c * patch, r * patch),
                          patch,
                          patch,
                          fill=False,
                          lw=1.5,
                          ec=colors[q % 10]))
        ax.set_title(name, fontsize=8)
        n_q = len(cells)
        for j, (layer, maps) in enumerate(zip(layers, rows_per_layer)):
            for r, m in enumerate(maps):
                ax = axes[r, col + 1 + j]
                heat = F.interpolate(
                    m[None, None],
                    size=img.shape[:2],
                    mode='bilinear',
                    align_corners=False)
                heat = heat[0, 0].numpy()
                heat = (heat - heat.min()) / (np.ptp(heat) + 1e-12)
                ax.imshow(img)
                ax.imshow(heat, cmap='jet', alpha=0.5)
                if r < n_q:
                    rr, cc = cells[r]
                    ax.add_patch(
                        Rectangle((cc * patch, rr * patch),
                                  patch,
                                  patch,
                                  fill=False,
                                  lw=1,
                                  ec=colors[r % 10]))
                label = f'query {r}' if r < n_q else f'proxy {r - n_q}'
                ax.set_title(f'L{layer} {label}', fontsize=6)
        col += len(layers) + 1
    fig.tight_layout()
    fig.savefig(out_file)
    plt.close(fig)


def visualize(checkpoints: Sequence[str],
              out_file: str,
              image: Optional[str] = None,
              sample: str = 'astronaut',
              img_size: Optional[int] = None,
              queries: Sequence[Tuple[float,
                                      float]] = ((0.35, 0.45), (0.75, 0.3)),
              layers: Optional[Sequence[int]] = None,
              names: Optional[Sequence[str]] = None,
              subtract_proxy_mean: bool = False,
              mean: Optional[Sequence[float]] = None,
              std: Optional[Sequence[float]] = None) -> str:
    """Draw the figure; returns ``out_file``. ``mean``/``std``: the
    normalisation (default: each checkpoint's own, see
    :func:`normalisation_of`)."""
    panels, size, patch = [], None, None
    for path in checkpoints:
        probe = SemanticMIMViT.from_checkpoint(path, out_type='raw')
        size = img_size or probe.img_size[0]
        encoder = probe if size == probe.img_size[0] else \
            SemanticMIMViT.from_checkpoint(path, out_type='raw',
                                           img_size=size)
        patch = encoder.patch_size
        use = list(layers) if layers is not None else \
            list(range(encoder.num_layers))
        img = load_image(image, sample, size)
        norm = (mean, std) if mean is not None and std is not None else \
            normalisation_of(path)
        maps, cells = attention_rows(encoder, img, queries, use,
                                     subtract_proxy_mean, *norm)
        panels.append((maps, cells, encoder.num_proxy_tokens))
    names = list(names or [osp.basename(p) for p in checkpoints])
    draw(panels, img, names, patch, use, out_file)
    return out_file
