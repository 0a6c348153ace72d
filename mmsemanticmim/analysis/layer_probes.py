"""Layer-wise probes of an encoder's patch and [PROXY] features.

Where do the semantics go, patches or proxies, and at which depth? For
every layer, three frozen features of an image: the mean of its patch
tokens, the mean of its proxy tokens, and the two concatenated, each half
L2-normalised per image first (proxy tokens can carry much larger norms
than patch tokens before the final norm, and would otherwise decide the
cosine similarity alone); each scored by the weighted k-NN and the
logistic-regression probe of :func:`~mmsemanticmim.analysis.
evaluate_frozen`. The last layer's features are taken after the encoder's
final norm, earlier layers' as the layer outputs them (the linear probe
standardises its inputs and k-NN uses cosine similarity, so neither depends
on a feature's overall scale). Layers are numbered from 0.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from .frozen_features import evaluate_frozen, image_folder_batches

FEATURE_KINDS = ('patch', 'proxy', 'patch+proxy')


@torch.no_grad()
def extract_layer_features(
    encoder: torch.nn.Module,
    data_root: str,
    split: str,
    img_size: int,
    mean: Sequence[float],
    std: Sequence[float],
    batch_size: int = 256,
    max_per_class: Optional[int] = None,
    device: str = 'cpu',
    classes: Optional[Sequence[str]] = None
) -> Tuple[Dict[str, torch.Tensor], torch.Tensor]:
    """Per-layer patch-mean and proxy-mean features of an image folder.

    Args:
        encoder (SemanticMIMViT): Built with ``out_type='raw'``; its
            ``out_indices`` are the layers probed (see
            :func:`~mmsemanticmim.analysis.load_frozen_encoder`).
        data_root, split, img_size, mean, std, batch_size, max_per_class,
            classes: as :func:`~mmsemanticmim.analysis.
            image_folder_batches` (give both splits the train split's
            classes).
        device (str): Where the encoder runs.

    Returns:
        tuple[dict, Tensor]: ``{'patch': (L, N, D), 'proxy': (L, N, D)}``
        (``proxy`` absent for an encoder without proxies) and (N, ) labels.
    """
    if encoder.out_type != 'raw':
        raise ValueError("extract_layer_features needs an encoder built "
                         f"with out_type='raw', got {encoder.out_type!r}")
    encoder.eval().to(device)
    num_proxies = encoder.num_proxy_tokens
    patch, proxy, labels = [], [], []
    for img, label in image_folder_batches(data_root, split, img_size, mean,
                                           std, batch_size, max_per_class,
                                           classes):
        outs = torch.stack(encoder(img.to(device)))  # (L, B, Np + N, D)
        patch.append(outs[:, :, num_proxies:].mean(2).float().cpu())
        if num_proxies:
            proxy.append(outs[:, :, :num_proxies].mean(2).float().cpu())
        labels.append(label)
    feats = dict(patch=torch.cat(patch, 1))
    if num_proxies:
        feats['proxy'] = torch.cat(proxy, 1)
    return feats, torch.cat(labels)


def feature_of(feats: Dict[str, torch.Tensor], kind: str,
               layer: int) -> torch.Tensor:
    """One layer's features of one kind (``FEATURE_KINDS``); the halves of
    ``patch+proxy`` are L2-normalised per image."""
    if kind == 'patch+proxy':
        return torch.cat(
            (F.normalize(feats['patch'][layer],
                         dim=1), F.normalize(feats['proxy'][layer], dim=1)), 1)
    return feats[kind][layer]


def probe_layers(train: Tuple[Dict[str, torch.Tensor], torch.Tensor],
                 test: Tuple[Dict[str, torch.Tensor], torch.Tensor],
                 layers: Sequence[int],
                 k: int = 20,
                 temperature: float = 0.07) -> List[dict]:
    """k-NN and linear-probe accuracy of every layer and feature kind.

    Args:
        train, test: :func:`extract_layer_features` outputs.
        layers (Sequence[int]): The encoder layer each feature row holds
            (its ``out_indices``), for the records.
        k, temperature: the k-NN's.

    Returns:
        list[dict]: ``dict(layer, feature, knn, linear)`` records, layer by
        layer; proxy kinds only where the encoder has proxies.
    """
    kinds = FEATURE_KINDS if 'proxy' in train[0] else ('patch', )
    records = []
    for row, layer in enumerate(layers):
        for kind in kinds:
            score = evaluate_frozen(
                (feature_of(train[0], kind, row), train[1]),
                (feature_of(test[0], kind, row), test[1]),
                k=k,
                temperature=temperature)
            records.append(dict(layer=int(layer), feature=kind, **score))
    return records


def best_record(records: List[dict],
                metric: str = 'linear',
                feature: Optional[str] = None) -> dict:
    """The record with the highest ``metric`` (first on ties), over one
    feature kind or all of them."""
    pool = [r for r in records if feature in (None, r['feature'])]
    if not pool:
        raise ValueError(f'no records of feature {feature!r}')
    return max(pool, key=lambda r: r[metric])
