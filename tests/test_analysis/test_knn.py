import torch

from mmsemanticmim.analysis import knn_accuracy, knn_predict


def _clusters(n_per=50, classes=5, dim=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.eye(classes, dim) * 10
    labels = torch.arange(classes).repeat_interleave(n_per)
    feats = centers[labels] + 0.1 * torch.randn(len(labels), dim, generator=g)
    return feats, labels


def test_separable_features_give_100():
    train = _clusters(seed=0)
    test = _clusters(seed=1)
    assert knn_accuracy(*train, *test) == 100.0


def test_shuffled_labels_give_about_chance():
    feats, labels = _clusters(n_per=200, classes=5)
    g = torch.Generator().manual_seed(0)
    shuffled = labels[torch.randperm(len(labels), generator=g)]
    test_feats, test_labels = _clusters(n_per=200, classes=5, seed=3)
    acc = knn_accuracy(feats, shuffled, test_feats, test_labels)
    assert 10 < acc < 30  # chance is 20%


def test_votes_are_temperature_weighted():
    train = torch.tensor([[1., 0.], [0.8, 0.6], [0.7, 0.71]])
    labels = torch.tensor([0, 1, 1])
    votes = knn_predict(
        train, labels, torch.tensor([[1., 0.]]), 2, k=3, temperature=0.01)
    # the nearest neighbour dominates at a low temperature
    assert votes.argmax(1).item() == 0
    votes = knn_predict(
        train, labels, torch.tensor([[1., 0.]]), 2, k=3, temperature=100.)
    # at a high temperature the two class-1 neighbours outvote it
    assert votes.argmax(1).item() == 1


def test_chunks_give_the_same_votes():
    """Test samples split into similarity blocks across a chunk boundary
    vote exactly as in one block."""
    from mmsemanticmim.analysis import knn_predict
    train = _clusters(seed=0)
    test, _ = _clusters(n_per=7, seed=2)  # 35 samples: blocks of 8 + 3
    whole = knn_predict(*train, test, 5, k=10, chunk=1024)
    parts = knn_predict(*train, test, 5, k=10, chunk=8)
    assert whole.shape == (35, 5)
    # the same neighbours and votes (matmul blocking may move the last bit)
    torch.testing.assert_close(parts, whole, rtol=1e-6, atol=0)
    assert torch.equal(parts.argmax(1), whole.argmax(1))
