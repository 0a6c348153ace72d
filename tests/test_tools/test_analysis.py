"""The analysis tools run on a tiny checkpoint and write real outputs."""

import numpy as np
import pytest
import torch

from helpers import run_tool

ATTENTION = 'tools/analysis/attention_report.py'
REPRESENTATION = 'tools/analysis/representation_report.py'


@pytest.fixture(scope='module')
def two_proxy_checkpoint(tmp_path_factory):
    """A second, different encoder (2 proxies, random weights)."""
    from mmsemanticmim.checkpoint import META_KEY
    from mmsemanticmim.models import SemanticMIMViT
    torch.manual_seed(1)
    enc = SemanticMIMViT(
        arch=dict(
            embed_dims=96, num_layers=4, num_heads=3,
            feedforward_channels=384),
        img_size=32,
        patch_size=4,
        num_proxy_tokens=2,
        out_type='raw')
    enc.init_weights()
    path = str(tmp_path_factory.mktemp('two') / 'two.pth')
    torch.save(
        dict(
            meta={META_KEY: enc.checkpoint_meta().to_dict()},
            state_dict=enc.state_dict()), path)
    return path


def test_visualize_attention_two_checkpoints(pretrain_checkpoint,
                                             two_proxy_checkpoint, tmp_path):
    import cv2

    from mmsemanticmim.analysis.attention_maps import visualize
    out = str(tmp_path / 'attn.png')
    visualize([pretrain_checkpoint, two_proxy_checkpoint],
              out,
              sample='astronaut',
              img_size=32,
              layers=[0, 2, 3],
              names=['a', 'b'],
              queries=[(0.1, 0.1), (0.5, 0.5), (0.9, 0.2)])
    img = cv2.imread(out)
    # rows: 3 queries + the larger proxy count (4); columns: per checkpoint
    # the image and 3 layers; 1.6 in at 100 dpi per cell
    assert img.shape[:2] == (7 * 160, 8 * 160)
    left, right = img[:, :4 * 160], img[:, 4 * 160:]
    # the second checkpoint has 2 proxies: its last 2 rows are empty
    assert left[-160:].std() > 10 and right[-160:].std() < 1
    assert np.abs(left.astype(int) - right.astype(int)).mean() > 5


def test_attention_rows_and_proxy_mean_subtraction(pretrain_checkpoint):
    from mmsemanticmim.analysis.attention_maps import attention_rows
    from mmsemanticmim.models import SemanticMIMViT
    enc = SemanticMIMViT.from_checkpoint(pretrain_checkpoint, out_type='raw')
    img = np.random.RandomState(0).randint(0, 255, (32, 32, 3), np.uint8)
    queries = [(0.3, 0.6), (0.99, 0.0)]
    plain, cells = attention_rows(enc, img, queries, [1, 3], False)
    centred, _ = attention_rows(enc, img, queries, [1, 3], True)
    assert cells == [(2, 4), (7, 0)]  # 8 x 8 grid, row-major
    assert [p.shape for p in plain] == [(2 + 4, 8, 8)] * 2
    for a, b in zip(plain, centred):
        proxy_mean = a[2:].mean(0)
        assert torch.allclose(b[:2], a[:2] - proxy_mean, atol=1e-7)
        assert torch.equal(b[2:], a[2:])  # proxies' own rows untouched
        # a query row is its attention over the patches (proxies left out)
        assert (a[:2].flatten(1).sum(1) < 1).all()


def test_attention_maps_match_the_layers_attention(pretrain_checkpoint):
    """The maps are the attention the forward uses: per layer, on that
    layer's input, per-head weights times the values, projected, equal the
    layer's fused (SDPA) attention output; the maps average the heads."""
    from mmsemanticmim.models import SemanticMIMViT
    enc = SemanticMIMViT.from_checkpoint(
        pretrain_checkpoint, out_type='raw').eval()
    x = torch.randn(2, 3, 32, 32)
    maps = enc.attention_maps(x)
    assert len(maps) == 4 and maps[0].shape == (2, 68, 68)
    inputs = []
    hooks = [
        layer.register_forward_pre_hook(lambda m, args: inputs.append(args[0]))
        for layer in enc.layers
    ]
    with torch.no_grad():
        enc(x)
    for h in hooks:
        h.remove()
    for layer, tokens, avg in zip(enc.layers, inputs, maps):
        with torch.no_grad():
            normed = layer.ln1(tokens)
            per_head = layer.attention_map(tokens)
            _, _, v = layer.attn.project(normed)
            implied = layer.attn.proj((per_head @ v).transpose(1,
                                                               2).flatten(2))
            fused = layer.attn(normed)
        torch.testing.assert_close(implied, fused, rtol=0, atol=1e-5)
        torch.testing.assert_close(avg, per_head.mean(1), rtol=0, atol=0)


def _frozen_encoder(checkpoint, random_init=False):
    """What tools/analysis/eval_frozen_features.py scores."""
    from mmsemanticmim.analysis import load_frozen_encoder
    return load_frozen_encoder(
        checkpoint, random_init, out_type='featmap', final_norm=True)


def test_eval_frozen_features(pretrain_checkpoint, cls_folder, tmp_path):
    """cls_folder's val split is a copy of train: each test image's nearest
    neighbour is itself (k-NN 100%) and the probe fits its own training
    set (100%). Misaligned features / labels would not."""
    import json

    import cv2

    from mmsemanticmim.analysis import evaluate_class_folder, extract_features
    tsne = str(tmp_path / 'tsne.png')
    for random_init in (False, True):
        enc = _frozen_encoder(pretrain_checkpoint, random_init)
        res = evaluate_class_folder(
            enc,
            cls_folder,
            32, [127.] * 3, [64.] * 3,
            train_split='train',
            test_split='val',
            tsne=tsne)
        assert res == {'knn': 100.0, 'linear': 100.0}
    feats, labels = extract_features(enc, cls_folder, 'val', 32, [127.] * 3,
                                     [64.] * 3)
    assert feats.shape == (16, 96) and labels.tolist() == [0] * 8 + [1] * 8
    img = cv2.imread(tsne)
    assert img is not None and img.shape[:2] == (500, 500)
    assert img.std() > 10
    # the tool: the same scores, one JSON line
    proc = run_tool('tools/analysis/eval_frozen_features.py',
                    pretrain_checkpoint, '--data-root', cls_folder, '--mean',
                    '127', '127', '127', '--std', '64', '64', '64')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.splitlines()[-1]) == {
        'knn': 100.0,
        'linear': 100.0
    }


def test_random_init_differs_from_checkpoint(pretrain_checkpoint):
    a = _frozen_encoder(pretrain_checkpoint)
    b = _frozen_encoder(pretrain_checkpoint, random_init=True)
    assert not torch.equal(a.layers[0].attn.qkv.weight,
                           b.layers[0].attn.qkv.weight)


def test_pixel_target_is_normalised_per_patch():
    from mmsemanticmim.models import PatchPixelTarget
    target = PatchPixelTarget(patch_size=4)
    out = target(torch.randn(2, 3, 32, 32) * 5 + 3)
    assert out.shape == (2, 64, 48)
    assert torch.allclose(out.mean(-1), torch.zeros(2, 64), atol=1e-4)
    with pytest.raises(ValueError, match='patch_size'):
        target(torch.randn(1, 3, 30, 30))
    raw = PatchPixelTarget(patch_size=4, norm_pix=False)
    x = torch.arange(3 * 8 * 8, dtype=torch.float).view(1, 3, 8, 8)
    assert np.allclose(raw(x)[0, 0, :3].numpy(), [0, 64, 128])


def test_representation_report(pretrain_checkpoint, two_proxy_checkpoint,
                               cls_folder, tmp_path):
    """Two checkpoints and the random floor: one table row per checkpoint
    and layer, every record in the JSON with each one's best, a plot."""
    import json

    import cv2
    out = tmp_path / 'rep'
    proc = run_tool(REPRESENTATION, pretrain_checkpoint, two_proxy_checkpoint,
                    '--data-root', cls_folder, '--out-dir', str(out),
                    '--names', 'a', 'b', '--random-init', '--mean', '127',
                    '127', '127', '--std', '64', '64', '64', '--max-per-class',
                    '6')
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = (out / 'representation.md').read_text()
    rows = [
        line for line in table.splitlines()
        if line.startswith(('| a |', '| b |', '| random init |'))
    ]
    assert len(rows) == 3 * 4
    assert rows[0].count('|') == 2 + 2 * 3 + 1  # k-NN | linear x 3 kinds
    report = json.loads((out / 'representation.json').read_text())
    assert set(report) == {'a', 'b', 'random init'}
    assert len(report['a']['records']) == 4 * 3
    best = report['a']['best_linear']
    assert best['linear'] == max(r['linear'] for r in report['a']['records'])
    assert '- a: best linear' in table
    assert report['b']['best_knn_proxy']['feature'] == 'proxy'
    img = cv2.imread(str(out / 'representation.png'))
    assert img is not None and img.shape[1] > img.shape[0] * 2
    assert img[:, -80:].min() < 128  # the legend, right of the axes
    assert img.std() > 10


def test_representation_report_refuses_bad_arguments(pretrain_checkpoint,
                                                     tmp_path):

    def refused(tool, *args):
        proc = run_tool(tool, pretrain_checkpoint, '--out-dir', str(tmp_path),
                        *args)
        assert proc.returncode == 2, proc.stderr[-2000:]  # argparse's error
        return proc.stderr

    data = ('--data-root', str(tmp_path))
    assert f'{tmp_path}/train not found' in refused(REPRESENTATION, *data)
    assert '2 names for 1 checkpoints' in refused(REPRESENTATION, *data,
                                                  '--names', 'a', 'b')
    (tmp_path / 'train').mkdir()
    (tmp_path / 'val').mkdir()
    assert '--max-per-class must be >= 0' in refused(REPRESENTATION, *data,
                                                     '--max-per-class', '-1')
    assert '--per-class must be >= 1, got 0' in refused(
        ATTENTION, '--per-class', '0')


def test_attention_report(pretrain_checkpoint, two_proxy_checkpoint,
                          cls_folder, tmp_path):
    import json

    import cv2
    out = tmp_path / 'attn'
    proc = run_tool(ATTENTION,
                    pretrain_checkpoint, two_proxy_checkpoint, '--out-dir',
                    str(out), '--names', 'four', 'two', '--data-root',
                    cls_folder, '--per-class', '3')
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / 'attention.json').read_text())
    for name, proxies in (('four', 4), ('two', 2)):
        s = report[name]
        assert s['num_proxies'] == proxies and s['grid'] == [8, 8]
        assert np.asarray(s['distance']).shape == (4, 3)  # layers x heads
        assert np.asarray(s['entropy']).shape == (4, 3)
        assert 0 < np.mean(s['distance']) < 12
        assert s['uniform_entropy'] == pytest.approx(np.log(64))
    table = (out / 'attention.md').read_text()
    assert table.count('| four |') == 4 and table.count('| two |') == 4
    assert '3 images a class' in table
    img = cv2.imread(str(out / 'attention.png'))
    assert img is not None and img.std() > 10
    # one sample photo instead of a folder
    proc = run_tool(ATTENTION, pretrain_checkpoint, '--out-dir',
                    str(tmp_path / 'one'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'astronaut' in (tmp_path / 'one' / 'attention.md').read_text()


def test_attention_is_drawn_on_the_training_normalisation(
        pretrain_checkpoint, tmp_path):
    """The tiny config trains on MNIST statistics (33.3 / 78.6): the
    figure's input is normalised with them, not with ImageNet's."""
    import torch

    from mmsemanticmim.analysis.attention_maps import (attention_rows,
                                                       normalisation_of)
    from mmsemanticmim.models import SemanticMIMViT
    from mmsemanticmim.utils.image_norm import IMAGENET_MEAN as MEAN
    mean, std = normalisation_of(pretrain_checkpoint)
    assert mean == (33.3, ) * 3 and std == (78.6, ) * 3
    enc = SemanticMIMViT.from_checkpoint(pretrain_checkpoint, out_type='raw')
    img = np.random.RandomState(0).randint(0, 255, (32, 32, 3), np.uint8)
    own, _ = attention_rows(enc, img, [(0.5, 0.5)], [0], False, mean, std)
    imagenet, _ = attention_rows(enc, img, [(0.5, 0.5)], [0], False)
    assert not torch.allclose(own[0], imagenet[0])
    bare = tmp_path / 'bare.pth'
    ckpt = torch.load(pretrain_checkpoint, weights_only=True)
    ckpt['meta'].pop('cfg')
    torch.save(ckpt, bare)
    with pytest.warns(UserWarning, match='--mean/--std'):
        assert normalisation_of(str(bare))[0] == MEAN
