"""k-NN classification of frozen features, as DINO evaluates them.

Written here because mmpretrain's metrics have no weighted k-NN classifier
(its retrieval metrics rank, they do not vote).
"""
import torch
import torch.nn.functional as F


@torch.no_grad()
def knn_predict(train_feats: torch.Tensor,
                train_labels: torch.Tensor,
                test_feats: torch.Tensor,
                num_classes: int,
                k: int = 20,
                temperature: float = 0.07,
                chunk: int = 1024) -> torch.Tensor:
    """Temperature-weighted k-NN votes over cosine similarity.

    Each test sample takes its ``k`` most similar training samples; each
    votes for its class with weight ``exp(similarity / temperature)``.

    Args:
        train_feats (Tensor): (N, D) features of the labelled set.
        train_labels (Tensor): (N, ) int labels in [0, num_classes).
        test_feats (Tensor): (M, D) features to classify.
        num_classes (int): Number of classes.
        k (int): Neighbours. Defaults to 20.
        temperature (float): Vote temperature. Defaults to 0.07.
        chunk (int): Test samples per similarity block (bounds memory).

    Returns:
        Tensor: (M, num_classes) vote scores; ``argmax(1)`` is the class.
    """
    if train_feats.shape[0] != train_labels.shape[0]:
        raise ValueError('train_feats and train_labels differ in length')
    k = min(k, train_feats.shape[0])
    train = F.normalize(train_feats.float(), dim=1)
    test = F.normalize(test_feats.float(), dim=1)
    scores = []
    for start in range(0, test.shape[0], chunk):
        sim = test[start:start + chunk] @ train.T
        top_sim, top_idx = sim.topk(k, dim=1)
        votes = torch.zeros(top_sim.shape[0], num_classes)
        votes.scatter_add_(1, train_labels[top_idx].long(),
                           (top_sim / temperature).exp())
        scores.append(votes)
    return torch.cat(scores)


def knn_accuracy(train_feats,
                 train_labels,
                 test_feats,
                 test_labels,
                 k: int = 20,
                 temperature: float = 0.07) -> float:
    """Top-1 accuracy (%) of :func:`knn_predict`."""
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    pred = knn_predict(train_feats, train_labels, test_feats, num_classes, k,
                       temperature).argmax(1)
    return float((pred == test_labels).float().mean() * 100)
