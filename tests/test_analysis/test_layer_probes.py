"""Layer-wise patch / proxy features and their probes."""
import pytest
import torch

from mmsemanticmim.analysis import (FEATURE_KINDS, best_record,
                                    extract_features, extract_layer_features,
                                    feature_of, image_folder_batches,
                                    load_frozen_encoder, probe_layers)

NORM = dict(mean=[127.] * 3, std=[64.] * 3)


def test_layer_features_and_probes(pretrain_checkpoint, cls_folder):
    enc = load_frozen_encoder(pretrain_checkpoint, all_layers=True)
    assert enc.out_indices == [0, 1, 2, 3] and enc.out_type == 'raw'
    train = extract_layer_features(
        enc, cls_folder, 'train', 32, **NORM, batch_size=5)
    feats, labels = train
    assert feats['patch'].shape == feats['proxy'].shape == (4, 16, 96)
    assert labels.tolist() == [0] * 8 + [1] * 8
    # the last layer's patch-mean is the one-number evaluation's feature
    last = load_frozen_encoder(
        pretrain_checkpoint, out_type='featmap', final_norm=True)
    ref, _ = extract_features(last, cls_folder, 'train', 32, **NORM)
    torch.testing.assert_close(feats['patch'][-1], ref)
    # proxies: the mean of the raw output's first tokens, per layer
    img, _ = next(
        image_folder_batches(cls_folder, 'train', 32, **NORM, batch_size=2))
    out = enc(img)
    torch.testing.assert_close(feats['proxy'][1, :2], out[1][:, :4].mean(1))
    # both: each half unit-length per image, so neither rules the cosine
    both = feature_of(feats, 'patch+proxy', 2)
    torch.testing.assert_close(both[:, :96].norm(dim=1), torch.ones(16))
    torch.testing.assert_close(both[:, 96:].norm(dim=1), torch.ones(16))
    torch.testing.assert_close(
        both[:, 96:] * feats['proxy'][2].norm(dim=1, keepdim=True),
        feats['proxy'][2])
    # val is a copy of train: every feature's nearest neighbour is itself
    test = extract_layer_features(enc, cls_folder, 'val', 32, **NORM)
    records = probe_layers(train, test, enc.out_indices)
    assert [(r['layer'], r['feature']) for r in records] == [
        (layer, kind) for layer in range(4) for kind in FEATURE_KINDS
    ]
    assert all(r['knn'] == 100. for r in records)
    assert all(0 <= r['linear'] <= 100 for r in records)


def test_encoder_without_proxies_has_patch_features_only(cls_folder):
    from mmsemanticmim.models import SemanticMIMViT
    enc = SemanticMIMViT(
        arch=dict(
            embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64),
        img_size=32,
        patch_size=8,
        num_proxy_tokens=0,
        out_type='raw',
        out_indices=(0, 1))
    enc.init_weights()
    pair = extract_layer_features(enc, cls_folder, 'val', 32, **NORM)
    assert set(pair[0]) == {'patch'}
    records = probe_layers(pair, pair, [0, 1])
    assert [r['feature'] for r in records] == ['patch', 'patch']
    enc.out_type = 'featmap'
    with pytest.raises(ValueError, match="out_type='raw'"):
        extract_layer_features(enc, cls_folder, 'val', 32, **NORM)


def test_max_per_class_keeps_the_first_of_each_class(cls_folder):
    batches = list(
        image_folder_batches(
            cls_folder, 'train', 16, **NORM, batch_size=4, max_per_class=3))
    labels = torch.cat([b[1] for b in batches])
    assert labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert batches[0][0].shape == (4, 3, 16, 16)


def test_best_record():
    records = [
        dict(layer=0, feature='patch', knn=50., linear=70.),
        dict(layer=1, feature='proxy', knn=60., linear=70.),
        dict(layer=1, feature='patch', knn=55., linear=65.)
    ]
    assert best_record(records) is records[0]  # first of a tie
    assert best_record(records, 'knn') is records[1]
    assert best_record(records, 'linear', 'patch') is records[0]
    assert best_record(records, 'knn', 'patch') is records[2]
    with pytest.raises(ValueError, match="'patch\\+proxy'"):
        best_record(records, 'knn', 'patch+proxy')


def test_splits_share_the_train_splits_labels(tmp_path):
    """CustomDataset numbers each split's own folders: with a class missing
    from val, val's later labels would shift. Given the train split's
    classes, they do not; a val class unknown to train is an error."""
    import shutil

    from mmsemanticmim.analysis import class_folders
    from conftest import write_image_folder
    root = str(tmp_path)
    write_image_folder(root, num_classes=3, per_class=2, size=8)
    for name in ('class_0', 'class_2'):
        shutil.copytree(tmp_path / 'train' / name, tmp_path / 'val' / name)
    classes = class_folders(root, 'train')
    assert classes == ['class_0', 'class_1', 'class_2']
    labels = torch.cat([
        lab for _, lab in image_folder_batches(
            root, 'val', 8, **NORM, classes=classes)
    ])
    assert labels.tolist() == [0, 0, 2, 2]
    shifted = torch.cat(
        [lab for _, lab in image_folder_batches(root, 'val', 8, **NORM)])
    assert shifted.tolist() == [0, 0, 1, 1]  # what the remap prevents
    shutil.copytree(tmp_path / 'train' / 'class_1',
                    tmp_path / 'val' / 'class_9')
    with pytest.raises(ValueError, match=r"lacks: \['class_9'\]"):
        next(image_folder_batches(root, 'val', 8, **NORM, classes=classes))
    with pytest.raises(FileNotFoundError, match='one sub-folder per class'):
        class_folders(root, 'test')
