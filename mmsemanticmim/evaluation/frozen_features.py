"""Features of a frozen encoder over an image folder, and probes on them."""
from typing import Dict, Sequence, Tuple

import numpy as np
import torch
from mmengine.dataset import default_collate
from torch.utils.data import DataLoader

from .knn import knn_accuracy


@torch.no_grad()
def extract_features(encoder: torch.nn.Module,
                     data_root: str,
                     split: str,
                     img_size: int,
                     mean: Sequence[float],
                     std: Sequence[float],
                     batch_size: int = 256) -> Tuple[torch.Tensor,
                                                     torch.Tensor]:
    """Mean-pooled patch features of every image of ``data_root/split``.

    The folder is read by mmpretrain's ``CustomDataset`` (one sub-folder per
    class); images are resized to ``img_size`` and normalised.

    Returns:
        tuple[Tensor, Tensor]: (N, D) features and (N, ) labels.
    """
    from mmpretrain.datasets import CustomDataset
    dataset = CustomDataset(
        data_root=data_root,
        data_prefix=split,
        pipeline=[
            dict(type='mmsemanticmim.StrictLoadImageFromFile'),
            dict(type='mmpretrain.Resize', scale=(img_size, img_size)),
            dict(type='mmpretrain.PackInputs'),
        ])
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False,
                        collate_fn=default_collate)
    mean_t = torch.tensor(mean).view(1, 3, 1, 1)
    std_t = torch.tensor(std).view(1, 3, 1, 1)
    encoder.eval()
    feats, labels = [], []
    for batch in loader:
        img = batch['inputs'].float()[:, [2, 1, 0]]  # BGR -> RGB
        img = (img - mean_t) / std_t
        out = encoder(img)[-1]
        feats.append(out.flatten(1) if out.dim() == 2 else
                     out.flatten(2).mean(2))
        labels.append(torch.stack(
            [s.gt_label for s in batch['data_samples']]).flatten())
    return torch.cat(feats), torch.cat(labels)


def linear_probe_accuracy(train_feats, train_labels, test_feats,
                          test_labels, seed: int = 0) -> float:
    """Top-1 accuracy (%) of multinomial logistic regression (L-BFGS, L2)
    fitted on standardised frozen features (scikit-learn)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    scaler = StandardScaler().fit(train_feats.numpy())
    clf = LogisticRegression(max_iter=1000, C=1.0, random_state=seed)
    clf.fit(scaler.transform(train_feats.numpy()), train_labels.numpy())
    pred = clf.predict(scaler.transform(test_feats.numpy()))
    return float((pred == test_labels.numpy()).mean() * 100)


def evaluate_frozen(train, test, k: int = 20,
                    temperature: float = 0.07) -> Dict[str, float]:
    """k-NN and linear-probe accuracy from (features, labels) pairs."""
    return dict(
        knn=knn_accuracy(*train, *test, k=k, temperature=temperature),
        linear=linear_probe_accuracy(*train, *test))


def tsne_plot(feats: torch.Tensor, labels: torch.Tensor, out_file: str,
              title: str = '', seed: int = 0, max_points: int = 1000) -> None:
    """2-D t-SNE embedding of features coloured by class, saved as PNG."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE
    rng = np.random.RandomState(seed)
    idx = rng.permutation(len(labels))[:max_points]
    emb = TSNE(n_components=2, init='pca', random_state=seed,
               perplexity=min(30, len(idx) - 1)).fit_transform(
                   feats[idx].numpy())
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    sc = ax.scatter(emb[:, 0], emb[:, 1], c=labels[idx].numpy(), s=6,
                    cmap='tab10')
    ax.legend(*sc.legend_elements(), fontsize=6, loc='best', markerscale=0.6)
    ax.set_xticks([]), ax.set_yticks([])
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out_file)
    plt.close(fig)
