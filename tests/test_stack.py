"""The OpenMMLab stack is real on CPU: built through our scope, mmcv ops
run."""
import pickle

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope


def test_compat_guard_lets_torchvision_import():
    import torchvision
    import torchvision.transforms.v2  # noqa: F401

    # Pure-Python box ops work whether or not the compiled part loaded.
    boxes = torch.tensor([[0., 0., 2., 2.], [1., 1., 3., 3.]])
    iou = torchvision.ops.box_iou(boxes, boxes)
    assert torch.allclose(iou.diagonal(), torch.ones(2))


def test_mmpretrain_vit_through_our_scope():
    from mmsemanticmim.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmsemanticmim'):
        vit = MODELS.build(
            dict(
                type='VisionTransformer',
                arch='deit-tiny',
                img_size=32,
                patch_size=8))
    from mmpretrain.models import VisionTransformer
    assert type(vit) is VisionTransformer
    out = vit(torch.randn(2, 3, 32, 32))
    assert out[-1].shape == (2, 192)


def test_registries_are_children_of_mmpretrain():
    from mmpretrain import registry as pre

    from mmsemanticmim import registry as ours
    for name in ('MODELS', 'DATASETS', 'TRANSFORMS', 'HOOKS', 'METRICS',
                 'OPTIM_WRAPPER_CONSTRUCTORS'):
        assert getattr(ours, name).parent is getattr(pre, name)
        assert getattr(ours, name).scope == 'mmsemanticmim'


def test_our_modules_by_scoped_name_from_mmseg_and_mmdet():
    from mmdet.registry import MODELS as DET_MODELS
    from mmseg.registry import MODELS as SEG_MODELS
    cfg = dict(
        type='mmsemanticmim.SemanticMIMViT',
        arch=dict(
            embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64),
        img_size=32,
        patch_size=8,
        num_proxy_tokens=2,
        out_type='featmap')
    for registry, scope in ((SEG_MODELS, 'mmseg'), (DET_MODELS, 'mmdet')):
        with DefaultScope.overwrite_default_scope(scope):
            model = registry.build(cfg)
        assert type(model).__name__ == 'SemanticMIMViT'


def test_every_registered_name_resolves_from_mmseg_and_mmdet():
    """``'mmsemanticmim.Name'`` reaches each of our registered components
    from the other libraries' registry of the same kind, through stock
    mmengine (the dotted-name import), with the same object."""
    import mmdet.registry
    import mmseg.registry

    from mmsemanticmim import registry as ours
    checked = 0
    for node_name in ours.__all__:
        node = getattr(ours, node_name)
        for name, obj in node._module_dict.items():
            if not name.isidentifier():  # 'DALL-E': pre-training only
                continue
            for library in (mmseg.registry, mmdet.registry):
                theirs = getattr(library, node_name, None)
                if theirs is None:
                    continue
                assert theirs.get(f'mmsemanticmim.{name}') is obj, \
                    (library.__name__, node_name, name)
                checked += 1
    assert checked >= 30


def test_import_patches_no_class_of_mmengine():
    """Importing the package leaves mmengine's registry, runner, strategy
    and checkpoint classes as they ship (their attributes, compared before
    and after ``import mmsemanticmim`` in a fresh interpreter)."""
    import subprocess
    import sys
    code = ('from mmengine.registry import Registry\n'
            'from mmengine.runner import Runner, CheckpointLoader\n'
            'from mmengine._strategy import FSDPStrategy, DDPStrategy\n'
            'import mmengine.dist as dist\n'
            'classes = (Registry, Runner, CheckpointLoader, FSDPStrategy, '
            'DDPStrategy)\n'
            'before = [dict(vars(c)) for c in classes]\n'
            'dist_before = dict(vars(dist))\n'
            'import mmsemanticmim\n'
            'for c, b in zip(classes, before):\n'
            '    a = dict(vars(c))\n'
            '    changed = [k for k in set(a) | set(b) if a.get(k) is not '
            'b.get(k)]\n'
            '    assert not changed, (c.__name__, changed)\n'
            'assert all(vars(dist)[k] is v for k, v in dist_before.items())\n')
    run = subprocess.run([sys.executable, '-c', code],
                         capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr[-2000:]


def _vit_backbone(out_indices):
    return dict(
        type='mmpretrain.VisionTransformer',
        arch=dict(
            embed_dims=32, num_layers=4, num_heads=2, feedforward_channels=64),
        img_size=64,
        patch_size=8,
        out_indices=out_indices,
        out_type='featmap')


def test_mmseg_upernet_with_mmpretrain_vit_trains_and_predicts():
    from mmengine.structures import PixelData
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = ConfigDict(
        type='EncoderDecoder',
        data_preprocessor=dict(
            type='SegDataPreProcessor',
            mean=[0, 0, 0],
            std=[1, 1, 1],
            size=(64, 64)),
        backbone=_vit_backbone((0, 1, 2, 3)),
        neck=dict(
            type='MultiLevelNeck',
            in_channels=[32] * 4,
            out_channels=32,
            scales=[4, 2, 1, 0.5]),
        decode_head=dict(
            type='UPerHead',
            in_channels=[32] * 4,
            in_index=[0, 1, 2, 3],
            pool_scales=(1, 2),
            channels=16,
            num_classes=3,
            norm_cfg=dict(type='BN', requires_grad=True),
            loss_decode=dict(type='CrossEntropyLoss')),
        train_cfg=dict(),
        test_cfg=dict(mode='whole'))
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg)
    model.init_weights()
    samples = []
    for _ in range(2):
        s = SegDataSample(
            metainfo=dict(
                img_shape=(64, 64), ori_shape=(64, 64), pad_shape=(64, 64)))
        s.gt_sem_seg = PixelData(data=torch.randint(0, 3, (1, 64, 64)))
        samples.append(s)
    data = model.data_preprocessor(
        dict(
            inputs=[
                torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8)
                for _ in range(2)
            ],
            data_samples=samples), True)
    losses = model(**data, mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    assert torch.isfinite(total)
    model.eval()
    with torch.no_grad():
        preds = model(**data, mode='predict')
    assert preds[0].pred_sem_seg.data.shape == (1, 64, 64)


def test_mmdet_mask_rcnn_runs_mmcv_ops_on_cpu(monkeypatch, tmp_path):
    import mmcv.ops  # noqa: F401 (the compiled ops must import)
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    from mmengine.structures import InstanceData
    register_all_modules(init_default_scope=False)
    base = tmp_path / 'mask_rcnn.py'
    base.write_text("_base_ = 'mmdet::_base_/models/mask-rcnn_r50_fpn.py'\n")
    cfg = Config.fromfile(str(base)).model
    cfg.backbone = ConfigDict(_vit_backbone((0, 1, 2, 3)))
    cfg.neck = ConfigDict(
        type='FPN', in_channels=[32] * 4, out_channels=32, num_outs=5)
    cfg.rpn_head.in_channels = cfg.rpn_head.feat_channels = 32
    for key in ('bbox_roi_extractor', 'mask_roi_extractor'):
        cfg.roi_head[key].out_channels = 32
    cfg.roi_head.bbox_head.in_channels = 32
    cfg.roi_head.bbox_head.num_classes = 2
    cfg.roi_head.mask_head.in_channels = 32
    cfg.roi_head.mask_head.num_classes = 2

    calls = {'nms': 0, 'roi_align': 0}

    def counting(name, fn):

        def wrapped(*args, **kwargs):
            calls[name] += 1
            return fn(*args, **kwargs)

        return wrapped

    # Count the compiled ops as mmcv itself dispatches them.
    import importlib
    nms_mod = importlib.import_module('mmcv.ops.nms')
    roi_mod = importlib.import_module('mmcv.ops.roi_align')
    monkeypatch.setattr(nms_mod.NMSop, 'apply',
                        counting('nms', nms_mod.NMSop.apply))
    monkeypatch.setattr(roi_mod, 'roi_align',
                        counting('roi_align', roi_mod.roi_align))
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg)
    model.init_weights()

    def sample():
        s = DetDataSample(
            metainfo=dict(
                img_shape=(64, 64),
                ori_shape=(64, 64),
                pad_shape=(64, 64),
                scale_factor=(1., 1.),
                batch_input_shape=(64, 64)))
        inst = InstanceData()
        inst.bboxes = torch.tensor([[4., 4., 40., 40.], [20., 10., 60., 50.]])
        inst.labels = torch.tensor([0, 1])
        masks = torch.zeros(2, 64, 64, dtype=torch.uint8)
        masks[0, 4:40, 4:40] = 1
        masks[1, 10:50, 20:60] = 1
        inst.masks = BitmapMasks(masks.numpy(), 64, 64)
        s.gt_instances = inst
        return s

    inputs = torch.rand(2, 3, 64, 64)
    losses = model(inputs, [sample(), sample()], mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k
                for v in (v if isinstance(v, list) else [v]))
    total.backward()
    assert torch.isfinite(total)
    assert 'loss_mask' in losses
    model.eval()
    with torch.no_grad():
        preds = model(inputs, [sample(), sample()], mode='predict')
    assert hasattr(preds[0].pred_instances, 'masks')
    assert calls['nms'] > 0 and calls['roi_align'] > 0


class _Evil:
    """Unpickling this runs a command: the attack a checkpoint can carry."""

    def __reduce__(self):
        import os
        return (os.system, ('echo pwned > /dev/null', ))


def test_code_executing_checkpoint_is_refused(tmp_path):
    """After ``setup_env()`` (what our tools and runners call), OpenMMLab's
    loaders refuse it too, the advice naming what works where it is
    raised."""
    import subprocess
    import sys
    path = tmp_path / 'evil.pth'
    with open(path, 'wb') as f:
        pickle.dump({'state_dict': {}, 'payload': _Evil()}, f)
    code = ('import sys, torch, mmsemanticmim\n'
            'from mmengine.runner import load_checkpoint\n'
            'from mmsemanticmim.checkpoint import UnsafeCheckpointError\n'
            'mmsemanticmim.setup_env(*sys.argv[2:])\n'
            'try:\n'
            '    load_checkpoint(torch.nn.Linear(2, 2), sys.argv[1])\n'
            'except UnsafeCheckpointError as e:\n'
            '    print(e)\n'
            'else:\n'
            '    sys.exit("loaded")\n')
    for flag, advice in ((None, 'mmsemanticmim.checkpoint.trust_checkpoint('),
                         ('--trust-checkpoint', '--trust-checkpoint')):
        run = subprocess.run(
            [sys.executable, '-c', code, str(path)] + ([flag] if flag else []),
            capture_output=True,
            text=True)
        assert run.returncode == 0, run.stderr[-2000:]
        assert advice in run.stdout and str(path) in run.stdout
    from mmsemanticmim.checkpoint import UnsafeCheckpointError, read_checkpoint
    with pytest.raises(UnsafeCheckpointError, match=str(path)):
        read_checkpoint(str(path))


def test_import_changes_no_loader_filter_or_config_table():
    """``import mmsemanticmim`` in a fresh interpreter leaves mmengine's
    checkpoint schemes, torch.load and the warnings filters as they were;
    mmengine's table of config packages gains our name and nothing else."""
    import subprocess
    import sys
    code = (
        # the libraries we import add filters of their own at import: they
        # come first, so that what is compared is what our import adds
        'import warnings, torch, mmengine.runner, mmcv.ops, mmpretrain\n'
        'import mmpretrain.models, mmpretrain.apis, mmseg.models\n'
        'import mmdet.models, mmdet.apis, mmseg.apis\n'
        'from mmengine.runner import CheckpointLoader\n'
        'from mmengine.config import utils as cu\n'
        'schemes = dict(CheckpointLoader._schemes)\n'
        'filters = list(warnings.filters)\n'
        'table = dict(cu.MODULE2PACKAGE)\n'
        'load = torch.load\n'
        'import mmsemanticmim\n'
        'assert dict(CheckpointLoader._schemes) == schemes\n'
        'assert list(warnings.filters) == filters, (warnings.filters[:3])\n'
        'assert torch.load is load\n'
        'assert dict(cu.MODULE2PACKAGE) == dict(table, '
        'mmsemanticmim="mmsemanticmim")\n'
        'mmsemanticmim.setup_env()  # the opt-in does change the schemes\n'
        'assert dict(CheckpointLoader._schemes) != schemes\n')
    run = subprocess.run([sys.executable, '-c', code],
                         capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr[-2000:]


def test_stock_runner_checkpoint_loads_the_same_with_or_without_us(tmp_path):
    """A checkpoint a stock mmengine Runner wrote (its message hub holds
    Python objects) loads with the user's settings exactly as it does in a
    process that never imported us."""
    import os
    import subprocess
    import sys
    path = str(tmp_path / 'stock.pth')
    write = (
        'import sys, torch\n'
        'from mmengine.logging import MessageHub\n'
        'hub = MessageHub.get_instance("stock")\n'
        'hub.update_scalar("train/loss", 1.0)\n'
        'torch.save(dict(state_dict=torch.nn.Linear(2, 2).state_dict(), '
        'message_hub=hub.state_dict(), meta=dict(epoch=1)), sys.argv[1])\n')
    subprocess.run([sys.executable, '-c', write, path], check=True)
    load = ('import sys, torch\n'
            'if sys.argv[2] == "ours": import mmsemanticmim\n'
            'from mmengine.runner import load_checkpoint\n'
            'try:\n'
            '    ckpt = load_checkpoint(torch.nn.Linear(2, 2), sys.argv[1])\n'
            '    print("loaded", sorted(ckpt))\n'
            'except Exception as e:\n'
            '    print("refused", type(e).__name__)\n')
    outcomes = {}
    for env in ({}, {'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD': '1'}):
        for who in ('stock', 'ours'):
            run = subprocess.run([sys.executable, '-c', load, path, who],
                                 env=dict(os.environ, **env),
                                 capture_output=True,
                                 text=True)
            assert run.returncode == 0, run.stderr[-2000:]
            outcomes[(tuple(env), who)] = run.stdout.strip().splitlines()[-1]
        assert outcomes[(tuple(env), 'stock')] == \
            outcomes[(tuple(env), 'ours')], outcomes
    assert outcomes[(('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', ), 'ours')]\
        .startswith('loaded'), outcomes


def test_torch_load_is_torch_s_own():
    """Importing the package changes nothing of torch: a user's own
    ``torch.load`` in the same process behaves as torch ships it."""
    import subprocess
    import sys
    run = subprocess.run([
        sys.executable, '-c',
        ('import torch; stock = torch.load; import mmsemanticmim; '
         'assert torch.load is stock is torch.serialization.load')
    ],
                         capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr[-2000:]


def test_trusted_checkpoint_opt_in(tmp_path, monkeypatch):
    from mmsemanticmim.checkpoint import read_checkpoint, trust_checkpoint
    from mmsemanticmim.checkpoint.reading import TRUST_ENV
    monkeypatch.setenv(TRUST_ENV, '')  # restored after
    path = tmp_path / 'numpy.pth'
    import numpy as np
    torch.save({'arr': np.arange(3)}, path)
    with pytest.raises(pickle.UnpicklingError):
        read_checkpoint(path)
    trust_checkpoint(str(path))
    assert read_checkpoint(path)['arr'].tolist() == [0, 1, 2]


def _fake_new_transformers(root):
    """A transformers as mmpretrain meets it in 4.45+ / 5.x: installed (a
    dist-info of version 5.17.0), ``modeling_utils`` without
    ``apply_chunking_to_forward`` and friends."""
    pkg = root / 'transformers'
    pkg.mkdir()
    (pkg / '__init__.py').write_text("__version__ = '5.17.0'\n"
                                     'from . import configuration_utils\n')
    (pkg / 'modeling_utils.py').write_text('class PreTrainedModel:\n'
                                           '    pass\n')
    # what torch 2.1's dynamo touches when transformers is installed
    (pkg / 'configuration_utils.py').write_text('class PretrainedConfig:\n'
                                                '    pass\n')
    info = root / 'transformers-5.17.0.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text('Metadata-Version: 2.1\nName: '
                                   'transformers\nVersion: 5.17.0\n')
    (info / 'RECORD').write_text('')


def test_mmpretrain_imports_beside_a_transformers_it_cannot_use(tmp_path):
    """Stock mmpretrain dies at import beside such a transformers; after
    ``import mmsemanticmim`` its multimodal switch is off, its models import
    and the multimodal names are placeholders."""
    import os
    import subprocess
    import sys

    from helpers import REPO
    _fake_new_transformers(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    compat = os.path.join(REPO, 'mmsemanticmim', 'utils',
                          'torchvision_guard.py')
    stock = subprocess.run([
        sys.executable, '-c', 'import importlib.util as u\n'
        f's = u.spec_from_file_location("c", {compat!r})\n'
        'c = u.module_from_spec(s); s.loader.exec_module(c)\n'
        'c.guard()  # only the torchvision guard\n'
        'import mmpretrain.models'
    ],
                           env=env,
                           capture_output=True,
                           text=True)
    # (the real 5.17 dies in BLIP's bases; this one a module earlier)
    assert stock.returncode != 0 and 'transformers' in stock.stderr, \
        stock.stderr[-2000:]
    ours = subprocess.run([
        sys.executable, '-c', 'import mmsemanticmim, mmpretrain.models\n'
        'from mmpretrain.utils.dependency import WITH_MULTIMODAL\n'
        'from mmpretrain.registry import MODELS\n'
        'import transformers\n'
        'assert transformers.__version__ == "5.17.0"\n'
        'assert WITH_MULTIMODAL is False\n'
        'assert MODELS.get("MAE") is not None\n'
        'try:\n'
        '    MODELS.get("BlipCaption")()\n'
        'except ImportError as e:\n'
        '    print("placeholder:", e)\n'
    ],
                          env=env,
                          capture_output=True,
                          text=True)
    assert ours.returncode == 0, ours.stderr[-2000:]
    # (mmpretrain's placeholders all name the last one: a late binding)
    assert 'requires extra multi-modal dependencies' in ours.stdout


def test_torchvision_and_timm_import_without_our_package():
    """In the venv the install makes, `import timm` / `import torchvision`
    work without `import mmsemanticmim` first (where torchvision's compiled
    part cannot load, a start-up hook guards its first import), and the
    start-up costs no torch import."""
    import subprocess
    import sys
    proc = subprocess.run([
        sys.executable, '-c', 'import sys\n'
        'assert "torch" not in sys.modules, "start-up imported torch"\n'
        'import timm, torchvision\n'
        'assert not any(m.startswith("mmsemanticmim") for m in sys.modules)\n'
        'import torch\n'
        'b = torch.tensor([[0., 0., 2., 2.]])\n'
        'print(float(torchvision.ops.box_iou(b, b)))\n'
    ],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == '1.0'
