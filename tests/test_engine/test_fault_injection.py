"""Faults injected on purpose: each fails fast naming the file or field and
the fix, or recovers as documented. In-process and tiny: seconds each."""
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook

from mmsemanticmim.checkpoint import (CheckpointMisfitError,
                                      CorruptCheckpointError,
                                      UnsafeCheckpointError,
                                      is_readable_checkpoint, read_checkpoint)
from mmsemanticmim.engine import (NonFiniteLossError, NothingToResumeError,
                                  build_runner, build_test_parser,
                                  build_train_parser, merge_train_args,
                                  run_test)
from helpers import REPO, TINY_CONFIGS, tiny_cfg

SEG_TOY = osp.join(
    REPO, 'configs/benchmarks/segmentation/upernet_vit-tiny-'
    'p4_semanticmim-maskfeat-pre_1xb2-2k_toy-ade20k-64x64.py')


class _Code:

    def __reduce__(self):
        return (os.system, ('echo pwned', ))


@pytest.fixture(scope='module')
def bad_files(tmp_path_factory):
    """A truncated, an empty, a random and a code-carrying checkpoint."""
    d = tmp_path_factory.mktemp('bad')
    good = d / 'good.pth'
    torch.save({'state_dict': {'w': torch.randn(64, 64)}}, good)
    data = good.read_bytes()
    files = {
        'truncated': data[:len(data) // 2],
        'empty': b'',
        # seeded random bytes (not starting like a pickle, which a stray
        # 0x80 first byte would mimic)
        'random': b'R' + __import__('numpy').random.RandomState(0).bytes(4095),
    }
    paths = {}
    for name, blob in files.items():
        (d / f'{name}.pth').write_bytes(blob)
        paths[name] = str(d / f'{name}.pth')
    torch.save({'state_dict': {}, 'x': _Code()}, d / 'code.pth')
    paths['code'] = str(d / 'code.pth')
    return paths


@pytest.mark.parametrize('kind', ['truncated', 'empty', 'random'])
def test_unreadable_files_are_named(bad_files, kind):
    path = bad_files[kind]
    assert not is_readable_checkpoint(path)
    with pytest.raises(CorruptCheckpointError, match=path) as e:
        read_checkpoint(path)
    assert ('empty' if kind == 'empty' else 'truncated') in str(e.value)


@pytest.mark.parametrize('kind', ['truncated', 'random', 'code'])
def test_bad_files_through_every_loading_path(bad_files, kind, tmp_path,
                                              image_folder, monkeypatch):
    """test.py, --resume PATH, load_from, init_cfg=Pretrained, the
    converters and from_checkpoint: each refuses, naming the file."""
    path = bad_files[kind]
    error = UnsafeCheckpointError if kind == 'code' else (
        CorruptCheckpointError, ValueError)
    with pytest.raises(error, match=path):
        run_test(build_test_parser().parse_args([SEG_TOY, path]))
    cfg = tiny_cfg(TINY_CONFIGS['maskfeat'], image_folder, str(tmp_path))
    for resume in (True, False):
        cfg.resume, cfg.load_from = resume, path
        cfg.experiment_name = f'bad_{kind}_{resume}'
        with pytest.raises(error, match=path):
            build_runner(cfg).train()
    from mmsemanticmim.models import SemanticMIMViT
    enc = SemanticMIMViT(
        arch='deit-tiny',
        img_size=32,
        patch_size=4,
        init_cfg=dict(type='Pretrained', checkpoint=path))
    with pytest.raises(error, match=path):
        enc.init_weights()
    with pytest.raises(error, match=path):
        SemanticMIMViT.from_checkpoint(path)
    from mmsemanticmim.checkpoint import extract_encoder as extract
    from mmsemanticmim.checkpoint.timm_files import \
        write_timm_checkpoint as convert
    with pytest.raises(error, match=path):
        extract(path, str(tmp_path / 'x.pth'))
    with pytest.raises(error, match=path):
        convert(path, str(tmp_path / 'x.safetensors'))


@pytest.fixture(scope='module')
def pretrained_run(image_folder, tmp_path_factory):
    """2 epochs of the tiny config: epoch_1.pth and epoch_2.pth."""
    work = str(tmp_path_factory.mktemp('run'))
    cfg = tiny_cfg(TINY_CONFIGS['maskfeat'], image_folder, work, max_epochs=2)
    cfg.experiment_name = 'fault_run'
    build_runner(cfg).train()
    return work


def _resume_cfg(image_folder, work, name, max_epochs=3, **kw):
    cfg = tiny_cfg(
        TINY_CONFIGS['maskfeat'], image_folder, work, max_epochs=max_epochs)
    cfg.resume, cfg.load_from = True, None
    cfg.experiment_name = name
    cfg.resume_changed = ['max_epochs']  # extends the 2-epoch run
    cfg.update(kw)
    return cfg


class _Where(Hook):

    def before_train(self, runner):
        self.iter = runner.iter


def _train(cfg):
    """Train ``cfg``; returns the runner and the iteration it started at."""
    runner = build_runner(cfg)
    where = _Where()
    runner.register_hook(where)
    runner.train()
    return runner, where.iter


def test_kill_during_save_leaves_no_partial_checkpoint(pretrained_run,
                                                       image_folder, tmp_path,
                                                       monkeypatch):
    """A crash while writing epoch_3.pth: the partial file stays under its
    temporary name, the checkpoints and last_checkpoint are whole, and
    --resume continues from epoch 2."""
    import shutil

    import mmengine.runner.runner as runner_module
    work = str(tmp_path / 'w')
    shutil.copytree(pretrained_run, work)
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work, 'epoch_2.pth'))
    stock = runner_module.save_checkpoint

    def crash(checkpoint, filename, **kw):
        stock(checkpoint, filename, **kw)
        with open(filename, 'r+b') as f:  # the kill hits mid-write
            f.truncate(os.path.getsize(filename) // 3)
        raise KeyboardInterrupt('killed while saving')

    monkeypatch.setattr(runner_module, 'save_checkpoint', crash)
    with pytest.raises(KeyboardInterrupt):
        build_runner(_resume_cfg(image_folder, work, 'crash')).train()
    monkeypatch.setattr(runner_module, 'save_checkpoint', stock)
    assert not osp.exists(osp.join(work, 'epoch_3.pth'))
    assert osp.exists(osp.join(work, 'epoch_3.pth.tmp'))
    runner, start = _train(_resume_cfg(image_folder, work, 'after_crash'))
    assert start == 4 and runner.iter == 6


def test_unreadable_latest_falls_back_to_newest_readable(
        pretrained_run, image_folder, tmp_path):
    import shutil
    work = str(tmp_path / 'w')
    shutil.copytree(pretrained_run, work)
    latest = osp.join(work, 'epoch_2.pth')
    data = open(latest, 'rb').read()
    with open(latest, 'wb') as f:
        f.write(data[:len(data) // 2])
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(latest)
    runner, start = _train(_resume_cfg(image_folder, work, 'fallback'))
    assert start == 2  # epoch 1's checkpoint
    import glob
    log = open(glob.glob(osp.join(runner.log_dir, '*.log'))[0]).read()
    assert f'The latest checkpoint {latest} is unreadable' in log
    assert 'resuming from ' + osp.join(work, 'epoch_1.pth') in log
    # an explicit unreadable file is an error that names the way out
    with open(latest, 'wb') as f:  # (the run above rewrote it whole)
        f.write(data[:len(data) // 2])
    cfg = _resume_cfg(image_folder, work, 'explicit', load_from=latest)
    with pytest.raises(ValueError, match='newest readable checkpoint'):
        build_runner(cfg).train()


def test_resume_with_nothing_is_an_error_unless_auto(image_folder, tmp_path):
    work = str(tmp_path / 'empty')
    with pytest.raises(NothingToResumeError, match=work):
        build_runner(_resume_cfg(image_folder, work, 'nothing')).train()
    runner, start = _train(
        _resume_cfg(image_folder, work, 'auto', auto_resume=True))
    assert start == 0 and runner.iter == 6


def test_auto_resume_with_nothing_starts_from_load_from(
        pretrained_run, image_folder, tmp_path):
    start = osp.join(pretrained_run, 'epoch_1.pth')
    runner = build_runner(
        _resume_cfg(
            image_folder,
            str(tmp_path / 'fresh'),
            'auto_load',
            auto_resume=True,
            auto_resume_load_from=start))

    class Weights(Hook):

        def before_train(self, runner):
            self.w = runner.model.backbone.pos_embed.detach().clone()

    seen = Weights()
    runner.register_hook(seen)
    runner.train()
    assert torch.equal(seen.w,
                       torch.load(start)['state_dict']['backbone.pos_embed'])


def test_best_checkpoints_are_not_resumed_from(pretrained_run, tmp_path):
    import shutil

    from mmsemanticmim.checkpoint import newest_readable_checkpoint
    work = str(tmp_path / 'w')
    shutil.copytree(pretrained_run, work)
    best = osp.join(work, 'best_loss_epoch_2.pth')
    shutil.copy(osp.join(work, 'epoch_1.pth'), best)  # the newest file
    assert newest_readable_checkpoint(work) == osp.join(work, 'epoch_2.pth')


def test_nan_loss_stops_at_once_naming_the_last_checkpoint(
        pretrained_run, image_folder, tmp_path):
    import shutil
    work = str(tmp_path / 'w')
    shutil.copytree(pretrained_run, work)
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work, 'epoch_2.pth'))
    runner = build_runner(_resume_cfg(image_folder, work, 'nan'))

    class Poison(Hook):

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            if runner.iter == 5:  # the second iteration after resuming
                with torch.no_grad():
                    runner.model.head.predictor.fc.weight.fill_(float('nan'))

    runner.register_hook(Poison())
    with pytest.raises(NonFiniteLossError) as e:
        runner.train()
    msg = str(e.value)
    assert 'iteration 6' in msg and 'loss=nan' in msg
    assert osp.join(work, 'epoch_2.pth') in msg
    assert not osp.exists(osp.join(work, 'epoch_3.pth'))


# ------------------------------------------------------- model / config ---
def test_wrong_heads_against_checkpoint_meta(pretrain_checkpoint):
    from mmsemanticmim.models import SemanticMIMViT
    enc = SemanticMIMViT(
        arch=dict(
            embed_dims=96, num_layers=4, num_heads=4,
            feedforward_channels=384),
        img_size=32,
        patch_size=4,
        num_proxy_tokens=None,
        layer_type=None,
        layer_scale_init_value=None,
        init_cfg=dict(
            type='Pretrained',
            checkpoint=pretrain_checkpoint,
            prefix='backbone.'))
    with pytest.raises(ValueError) as e:
        enc.init_weights()
    assert 'num_heads=3' in str(e.value) and 'model.backbone.arch' in str(
        e.value)


@pytest.fixture(scope='module')
def finetuned_seg(ade_folder, pretrain_checkpoint, tmp_path_factory):
    """A 4-proxy segmentation checkpoint (1 iteration of the toy config)."""
    work = str(tmp_path_factory.mktemp('seg'))
    cfg = Config.fromfile(SEG_TOY)
    for k in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[k].dataset.data_root = ade_folder
    cfg.model.backbone.init_cfg.checkpoint = pretrain_checkpoint
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=1, val_interval=10)
    cfg.default_hooks.checkpoint.interval = 1
    cfg.work_dir = work
    from mmsemanticmim.engine import prepare_config
    prepare_config(cfg)
    build_runner(cfg).train()
    return osp.join(work, 'iter_1.pth')


def _test_tool(capsys, ade_folder, ckpt, *extra):
    """What ``tools/test.py SEG_TOY CKPT EXTRA...`` prints and logs."""
    import runpy
    opts = [
        f'{k}.dataset.data_root={ade_folder}'
        for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ]
    runpy.run_path(osp.join(REPO, 'tools', 'test.py'))['main'](
        [SEG_TOY, ckpt, *extra, '--cfg-options', *opts])
    return capsys.readouterr().out


def test_evaluation_is_strict(finetuned_seg, pretrain_checkpoint, ade_folder,
                              monkeypatch, capsys, tmp_path):
    """The fine-tuned checkpoint alone rebuilds its encoder (the
    pre-training file is not needed); a misfit fails before any metric,
    and --non-strict evaluates with a warning beside the metric."""
    moved = str(tmp_path / 'iter_1.pth')
    import shutil
    shutil.copy(finetuned_seg, moved)
    out = _test_tool(capsys, ade_folder, moved, '--work-dir',
                     str(tmp_path / 'a'))
    assert "'mIoU'" in out and 'partially loaded' not in out
    with pytest.raises(CheckpointMisfitError) as e:
        _test_tool(capsys, ade_folder, moved, '--work-dir',
                   str(tmp_path / 'b'), '--cfg-options',
                   'model.backbone.num_proxy_tokens=1')
    msg = str(e.value)
    assert 'backbone.proxy_tokens' in msg and moved in msg
    assert 'num_proxy_tokens=4' in msg and \
        'set model.backbone.num_proxy_tokens' in msg
    # heads leave the shapes alone: the checkpoint's meta catches them
    with pytest.raises(
            CheckpointMisfitError,
            match='num_heads=3 but the config builds num_heads=4'
            ': set model.backbone.arch'):
        _test_tool(capsys, ade_folder, moved, '--work-dir',
                   str(tmp_path / 'e'), '--cfg-options',
                   'model.backbone.arch.num_heads=4')
    # a pre-training checkpoint is not a segmentation model
    with pytest.raises(CheckpointMisfitError, match='decode_head'):
        _test_tool(capsys, ade_folder, pretrain_checkpoint, '--work-dir',
                   str(tmp_path / 'c'))
    out = _test_tool(capsys, ade_folder, moved, '--non-strict', '--work-dir',
                     str(tmp_path / 'd'), '--cfg-options',
                     'model.backbone.num_proxy_tokens=1')
    assert "'mIoU'" in out and 'These metrics are of a partially '\
        'loaded model' in out


def test_empty_and_mislaid_data_roots(tmp_path, image_folder):
    from mmsemanticmim.datasets import DataRootError, check_data_roots
    cfg = Config.fromfile(SEG_TOY)
    empty = tmp_path / 'ade'
    (empty / 'images' / 'training').mkdir(parents=True)
    for k in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[k].dataset.data_root = str(empty)
    with pytest.raises(DataRootError, match='images/training') as e:
        check_data_roots(cfg)
    assert 'train_dataloader.dataset.data_root' in str(e.value)
    coco = Config.fromfile(
        osp.join(
            REPO, 'configs/benchmarks/detection/mask-rcnn_vit-tiny-p4_'
            'semanticmim-maskfeat-pre_simplefpn-1xb2-2e_toy-coco.py'))
    for k in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        coco[k].dataset.data_root = str(tmp_path) + '/'
    with pytest.raises(DataRootError, match='annotation file .* not found'):
        check_data_roots(coco)
    pre = tiny_cfg(TINY_CONFIGS['maskfeat'], str(tmp_path / 'nowhere'),
                   str(tmp_path / 'w'))
    with pytest.raises(DataRootError, match='does not exist'):
        check_data_roots(pre)
    (tmp_path / 'imgs' / 'train').mkdir(parents=True)
    pre.train_dataloader.dataset.data_root = str(tmp_path / 'imgs')
    with pytest.raises(
            DataRootError, match='one sub-folder of images per '
            'class'):
        check_data_roots(pre)
    pre.train_dataloader.dataset.data_root = image_folder
    check_data_roots(pre)
    # evaluation checks its own split only; remote roots are left alone
    for k in ('train_dataloader', 'val_dataloader'):
        cfg[k].dataset.data_root = 's3://bucket/ade'
    check_data_roots(cfg, splits=('train_dataloader', 'val_dataloader'))
    with pytest.raises(DataRootError):
        check_data_roots(cfg, splits=('test_dataloader', ))


def test_detector_strides_must_agree():
    from mmsemanticmim.models.necks.simple_fpn import check_pyramid_strides
    toy = Config.fromfile(
        osp.join(
            REPO, 'configs/benchmarks/detection/mask-rcnn_vit-tiny-p4_'
            'semanticmim-maskfeat-pre_simplefpn-1xb2-2e_toy-coco.py'))
    check_pyramid_strides(toy.model)  # patch 4 with strides 1..16: fine
    toy.model.rpn_head.anchor_generator.strides = [4, 8, 16, 32, 64]
    with pytest.raises(
            ValueError,
            match=r'model.rpn_head.anchor_generator'
            r'.strides=\[4, 8, 16, 32, 64\]: set it to '
            r'\[1, 2, 4, 8, 16\]'):
        check_pyramid_strides(toy.model)
    full = Config.fromfile(
        osp.join(
            REPO, 'configs/benchmarks/detection/mask-rcnn_vit-base-p16_'
            'semanticmim-maskfeat-pre_simplefpn-16xb4-lsj-100e_coco.py'))
    check_pyramid_strides(full.model)
    # other necks, single or in a list, are not SimpleFPN's business
    check_pyramid_strides(dict(neck=[dict(type='FPN'), dict(type='BFP')]))
    full.model.backbone.patch_size = 8
    with pytest.raises(ValueError, match='featmap_strides'):
        full.model.rpn_head.anchor_generator.strides = [2, 4, 8, 16, 32]
        check_pyramid_strides(full.model)


def test_resume_with_changed_settings_refuses(pretrained_run, image_folder,
                                              tmp_path):
    """A new lr, batch size or epoch count on --resume: refused before
    training, naming old and new values; accepted ones are logged."""
    import shutil

    from mmsemanticmim.engine import ResumeSettingsError
    work = str(tmp_path / 'w')
    shutil.copytree(pretrained_run, work)
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work, 'epoch_2.pth'))
    cfg = _resume_cfg(image_folder, work, 'changed_lr', resume_changed=[])
    cfg.optim_wrapper.optimizer.lr = 5e-5
    with pytest.raises(ResumeSettingsError) as e:
        build_runner(cfg).train()
    text = str(e.value)
    assert 'lr: checkpoint 0.001, config 5e-05' in text
    assert 'max_epochs: checkpoint 2, config 3' in text
    assert '--resume-changed lr max_epochs' in text
    assert 'epoch_2.pth' in text
    cfg = _resume_cfg(
        image_folder, work, 'changed_batch', resume_changed=['max_epochs'])
    cfg.train_dataloader.batch_size = 4
    with pytest.raises(
            ResumeSettingsError, match='batch_size: checkpoint 8'
            ', config 4') as e:
        build_runner(cfg).train()
    assert 'max_epochs' not in str(e.value)  # accepted
    cfg = _resume_cfg(
        image_folder,
        work,
        'accepted',
        resume_changed=['batch_size', 'max_epochs'])
    cfg.train_dataloader.batch_size = 4
    runner, start = _train(cfg)
    assert start == 4  # resumed
    log = open(osp.join(runner.log_dir, f'{runner.timestamp}.log')).read()
    assert 'Resuming with changed settings' in log
    assert 'batch_size: checkpoint 8, config 4' in log


def test_train_tool_resume_changed_flag(tmp_path):
    parser = build_train_parser()
    with pytest.raises(
            ValueError, match='--resume-changed applies to '
            '--resume'):
        merge_train_args(
            Config.fromfile(TINY_CONFIGS['maskfeat']),
            parser.parse_args(
                [TINY_CONFIGS['maskfeat'], '--resume-changed', 'lr']))
    args = parser.parse_args([
        TINY_CONFIGS['maskfeat'], '--resume', '--resume-changed', 'lr',
        'world_size'
    ])
    assert args.resume_changed == ['lr', 'world_size']


def test_disk_full_while_saving(pretrained_run, image_folder, tmp_path,
                                monkeypatch):
    """ENOSPC mid-save: the error names the file, the bytes needed and
    free; the partial file is gone, the last good checkpoint and
    last_checkpoint are as they were; a resume starts while the disk is
    still full (the config copies are skipped with a warning)."""
    import errno
    import shutil

    import mmengine.runner.runner as runner_module

    from mmsemanticmim.checkpoint.work_dir import CheckpointSaveError
    work = str(tmp_path / 'w')
    shutil.copytree(pretrained_run, work)
    record = osp.join(work, 'last_checkpoint')
    with open(record, 'w') as f:
        f.write(osp.join(work, 'epoch_2.pth'))
    stock = runner_module.save_checkpoint

    def full(checkpoint, filename, **kw):
        with open(filename, 'wb') as f:
            f.write(b'\0' * 4096)  # a part went out before the disk filled
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(runner_module, 'save_checkpoint', full)
    with pytest.raises(CheckpointSaveError) as e:
        build_runner(_resume_cfg(image_folder, work, 'full')).train()
    text = str(e.value)
    assert e.value.errno == errno.ENOSPC
    assert osp.join(work, 'epoch_3.pth') in text
    assert 'MiB are free' in text and 'It needs about' in text
    assert not osp.exists(osp.join(work, 'epoch_3.pth.tmp'))
    assert open(record).read() == osp.join(work, 'epoch_2.pth')
    assert is_readable_checkpoint(osp.join(work, 'epoch_2.pth'))
    monkeypatch.setattr(runner_module, 'save_checkpoint', stock)

    def dump_full(self, file=None):
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(Config, 'dump', dump_full)
    runner, start = _train(_resume_cfg(image_folder, work, 'still_full'))
    assert start == 4 and runner.iter == 6


def test_resume_never_runs_config_text_from_the_checkpoint(
        pretrained_run, image_folder, tmp_path):
    """mmengine's resume executes meta['config'] (Config.fromstring); a
    checkpoint carrying one is resumed without running it."""
    import shutil
    work = str(tmp_path / 'w')
    shutil.copytree(pretrained_run, work)
    path = osp.join(work, 'epoch_2.pth')
    ckpt = torch.load(path, weights_only=True)
    marker = tmp_path / 'ran'
    ckpt['meta']['config'] = f"open({str(marker)!r}, 'w').close()\n"
    torch.save(ckpt, path)
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(path)
    runner, start = _train(_resume_cfg(image_folder, work, 'config_text'))
    assert start == 4 and not marker.exists()


# ------------------------------------------- resume: what it resumes ---
def test_auto_resume_never_starts_over_a_partial_checkpoint(
        image_folder, tmp_path):
    """Only ``epoch_2.pth.tmp`` (a kill mid-save) and a last_checkpoint
    naming a deleted file: --auto-resume stops, naming what it found."""
    work = tmp_path / 'w'
    work.mkdir()
    (work / 'epoch_2.pth.tmp').write_bytes(b'PK\x03\x04partial')
    (work / 'last_checkpoint').write_text(str(work / 'epoch_1.pth'))
    with pytest.raises(NothingToResumeError, match='epoch_2.pth.tmp'):
        build_runner(
            _resume_cfg(image_folder, str(work), 'partial',
                        auto_resume=True)).train()


def test_last_checkpoint_is_read_inside_the_work_dir(pretrained_run,
                                                     image_folder, tmp_path):
    """A copied work dir: its last_checkpoint names the original's file,
    which is refused (named explicitly it resumes); a relative name is read
    in the work dir; without a record the newest by epoch wins, not by
    mtime."""
    import shutil

    from mmsemanticmim.checkpoint.work_dir import ForeignCheckpointError
    work = str(tmp_path / 'copy')
    shutil.copytree(pretrained_run, work)
    assert open(osp.join(work,
                         'last_checkpoint')).read().startswith(pretrained_run)
    with pytest.raises(ForeignCheckpointError) as e:
        build_runner(_resume_cfg(image_folder, work, 'copied')).train()
    assert f'--resume {osp.join(pretrained_run, "epoch_2.pth")}' in \
        str(e.value)
    assert f'--resume {osp.join(work, "epoch_2.pth")}' in str(e.value)
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write('epoch_2.pth')
    _, start = _train(
        _resume_cfg(
            image_folder, work, 'relative', max_epochs=2, resume_changed=[]))
    assert start == 4
    os.remove(osp.join(work, 'last_checkpoint'))
    os.utime(osp.join(work, 'epoch_1.pth'))  # the newer file, as cp gives
    _, start = _train(
        _resume_cfg(
            image_folder, work, 'by_epoch', max_epochs=2, resume_changed=[]))
    assert start == 4  # epoch 2, not the newer epoch 1


def test_resume_on_a_changed_data_set_refuses(pretrained_run, tmp_path):
    """The data set grew from 16 to 32 images: refused like a changed batch
    size, saying what the schedule would do; accepted by name."""
    import shutil

    from mmsemanticmim.engine import ResumeSettingsError
    from conftest import write_image_folder
    work = str(tmp_path / 'w')
    shutil.copytree(pretrained_run, work)
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work, 'epoch_2.pth'))
    bigger = write_image_folder(str(tmp_path / 'more'), per_class=16)
    with pytest.raises(ResumeSettingsError) as e:
        build_runner(_resume_cfg(bigger, work, 'more')).train()
    text = str(e.value)
    assert 'dataset_length: checkpoint 16, config 32' in text
    assert 'convert_to_iter_based' in text
    assert 'data_root: checkpoint' in text and bigger in text
    assert '--resume-changed dataset_length data_root' in text
    _, start = _train(
        _resume_cfg(
            bigger,
            work,
            'more_ok',
            resume_changed=['max_epochs', 'dataset_length', 'data_root']))
    assert start == 4


class _BlowUp(Hook):
    """After the last update of epoch 3, the weights are huge but finite:
    epoch_3.pth holds them, and the next forward overflows."""

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        if runner.iter == 5:
            with torch.no_grad():
                runner.model.head.predictor.fc.weight.fill_(1e36)


def test_divergence_names_a_checkpoint_whose_weights_gave_a_finite_loss(
        pretrained_run, image_folder, tmp_path):
    """The blown-up epoch_3.pth is not called good; epoch_2.pth is, and it
    is still there at max_keep_ckpts=1. Its advice works as written:
    --resume-changed lr with a lower lr resumes at the lower lr."""
    import shutil
    work = str(tmp_path / 'w')
    shutil.copytree(pretrained_run, work)
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work, 'epoch_2.pth'))
    cfg = _resume_cfg(image_folder, work, 'blowup', max_epochs=4)
    cfg.default_hooks.checkpoint.max_keep_ckpts = 1
    runner = build_runner(cfg)
    runner.register_hook(_BlowUp())
    with pytest.raises(NonFiniteLossError) as e:
        runner.train()
    msg = str(e.value)
    good, bad = osp.join(work, 'epoch_2.pth'), osp.join(work, 'epoch_3.pth')
    assert 'iteration 7' in msg
    assert f'{bad} holds the weights that gave this loss' in msg
    assert f'The last good checkpoint is {good}' in msg
    assert is_readable_checkpoint(good) and is_readable_checkpoint(bad)
    assert f'--resume {good} --resume-changed lr' in msg
    # a requeued --auto-resume takes the good one, not the newest
    assert open(osp.join(work, 'last_checkpoint')).read() == good
    # the advice, followed: the lr goes on from the checkpoint's, scaled
    saved_lr = torch.load(good)['optimizer']['param_groups'][0]['lr']
    cfg = _resume_cfg(
        image_folder,
        work,
        'lower_lr',
        max_epochs=4,
        load_from=good,
        resume_changed=['max_epochs', 'lr'])
    cfg.optim_wrapper.optimizer.lr = 1e-4  # the run's was 1e-3

    class FirstLr(Hook):

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            self.lr = getattr(self, 'lr', None) or \
                runner.optim_wrapper.param_groups[0]['lr']

    runner = build_runner(cfg)
    seen = FirstLr()
    runner.register_hook(seen)
    runner.train()
    assert seen.lr == pytest.approx(saved_lr * 0.1)


def test_divergence_before_any_checkpoint_says_what_to_try(
        image_folder, tmp_path):
    cfg = tiny_cfg(
        TINY_CONFIGS['maskfeat'],
        image_folder,
        str(tmp_path / 'w'),
        max_epochs=1)
    runner = build_runner(cfg)

    class Poison(Hook):

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            with torch.no_grad():
                runner.model.head.predictor.fc.weight.fill_(float('nan'))

    runner.register_hook(Poison())
    with pytest.raises(NonFiniteLossError) as e:
        runner.train()
    assert 'No checkpoint of this run is known to be good' in str(e.value)
    assert 'optim_wrapper.optimizer.lr' in str(e.value)


# --------------------------------------------- smaller: early and named ---
def test_nothing_to_train_is_an_error(tmp_path):
    args = build_train_parser().parse_args([
        TINY_CONFIGS['maskfeat'], '--work-dir',
        str(tmp_path), '--cfg-options', 'train_cfg.max_epochs=0'
    ])
    with pytest.raises(
            ValueError,
            match=r'train_cfg.max_epochs=0: nothing '
            'would be trained'):
        merge_train_args(Config.fromfile(args.config), args)


def test_an_epoch_without_a_batch_is_named(image_folder, tmp_path):
    cfg = tiny_cfg(
        TINY_CONFIGS['maskfeat'],
        image_folder,
        str(tmp_path / 'w'),
        batch_size=32)
    cfg.train_dataloader.drop_last = True
    with pytest.raises(
            ValueError,
            match=r'16 samples, batch_size=32 per '
            r'process.*at most 16'):
        build_runner(cfg).train()


def test_mask_generator_size_must_match_the_image():
    import numpy as np

    from mmsemanticmim.datasets.transforms import SemanticMIMMaskGenerator
    gen = SemanticMIMMaskGenerator(
        input_size=40, mask_patch_size=4, model_patch_size=4, mask_ratio=0.5)
    with pytest.raises(
            ValueError, match='input_size=40 .* this image is '
            '32x32'):
        gen(dict(img=np.zeros((32, 32, 3), np.uint8)))
    assert gen(dict(img=np.zeros((40, 40, 3), np.uint8)))['mask'].shape == \
        (10, 10)


def test_data_root_that_is_a_file_or_holds_broken_links(
        image_folder, tmp_path):
    import shutil

    from mmsemanticmim.datasets import DataRootError, check_data_roots
    cfg = tiny_cfg(TINY_CONFIGS['maskfeat'], str(tmp_path / 'file'),
                   str(tmp_path / 'w'))
    (tmp_path / 'file').write_text('not a folder')
    with pytest.raises(DataRootError, match='is a file, not a folder'):
        check_data_roots(cfg)
    root = str(tmp_path / 'links')
    shutil.copytree(image_folder, root)
    os.symlink(
        str(tmp_path / 'gone.png'), osp.join(root, 'train', 'class_0',
                                             'z.png'))
    cfg.train_dataloader.dataset.data_root = root
    with pytest.raises(
            DataRootError, match='1 image links .* point to '
            'nothing .*z.png'):
        check_data_roots(cfg)


def test_plain_vit_checkpoints_are_named_with_the_fix(tmp_path):
    from mmsemanticmim.checkpoint import load_encoder_checkpoint
    vit = {
        'backbone.pos_embed': torch.zeros(1, 65, 96),
        'backbone.cls_token': torch.zeros(1, 1, 96),
        'backbone.patch_embed.projection.weight': torch.zeros(96, 3, 4, 4),
        'backbone.layers.0.ln1.weight': torch.zeros(96)
    }
    torch.save({'state_dict': vit}, tmp_path / 'mae.pth')
    with pytest.raises(ValueError) as e:
        load_encoder_checkpoint(str(tmp_path / 'mae.pth'), 'backbone.')
    assert "under prefix 'backbone.': it has no proxy_tokens." in \
        str(e.value)
    assert 'plain ViT' in str(e.value)
    assert "use prefix='backbone.'" not in str(e.value)
    timm = {
        'pos_embed': torch.zeros(1, 65, 96),
        'blocks.0.attn.qkv.weight': torch.zeros(288, 96)
    }
    torch.save(timm, tmp_path / 'timm.pth')
    with pytest.raises(ValueError, match='timm_to_semanticmim.py'):
        load_encoder_checkpoint(str(tmp_path / 'timm.pth'))


def test_head_count_is_recorded_or_unknown_never_guessed():
    from mmsemanticmim.checkpoint import EncoderMeta, HeadCountUnknownError
    meta = EncoderMeta(
        num_proxy_tokens=4,
        layer_type='vit',
        layer_scale=False,
        embed_dims=96,
        num_layers=4,
        feedforward_channels=384,
        patch_size=4,
        img_size=[32, 32])
    assert meta.heads_text == 'an unrecorded number of heads'
    with pytest.raises(HeadCountUnknownError, match='num_heads=N'):
        meta.backbone_kwargs()
    assert meta.layer_kwargs() == dict(
        num_proxy_tokens=4, layer_type='vit', layer_scale_init_value=0.)
    with pytest.raises(ValueError, match='num_heads=5 does not divide'):
        meta.set_num_heads(5)
    meta.set_num_heads(1)
    assert meta.heads_text == '1 head of 96 channels'
    with pytest.raises(ValueError, match='records num_heads=1, not 2'):
        meta.set_num_heads(2)
    meta.embed_dims, meta.num_heads = 768, 12
    assert meta.heads_text == '12 heads of 64 channels'
    assert meta.arch['num_heads'] == 12


def test_downstream_resume_needs_no_pretrained_and_reruns_a_stopped_val(
        pretrain_checkpoint, ade_folder, tmp_path):
    """A validation stopped by Ctrl-C after iter_2.pth was saved: --resume
    (without the pre-training file the config does not name) runs it."""
    work = str(tmp_path / 'seg')
    opts = [
        f'{k}.dataset.data_root={ade_folder}'
        for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ]
    # val_interval stays 1000: the validation is the one mmengine runs at
    # the last iteration
    opts += ['train_cfg.max_iters=2', 'default_hooks.checkpoint.interval=2']
    parser = build_train_parser()
    args = parser.parse_args([
        SEG_TOY, '--work-dir', work, '--pretrained', pretrain_checkpoint,
        '--cfg-options', *opts
    ])
    runner = build_runner(merge_train_args(Config.fromfile(SEG_TOY), args))

    class CtrlC(Hook):

        def before_val_iter(self, runner, batch_idx, data_batch=None):
            raise KeyboardInterrupt

    runner.register_hook(CtrlC())
    with pytest.raises(KeyboardInterrupt):
        runner.train()
    assert is_readable_checkpoint(osp.join(work, 'iter_2.pth'))
    args = parser.parse_args(
        [SEG_TOY, '--work-dir', work, '--resume', '--cfg-options', *opts])
    cfg = merge_train_args(Config.fromfile(SEG_TOY), args)
    assert cfg.model.backbone.init_cfg is None
    runner = build_runner(cfg)

    class Validated(Hook):
        metrics = None

        def after_val_epoch(self, runner, metrics=None):
            Validated.metrics = metrics

    runner.register_hook(Validated())
    runner.train()
    assert Validated.metrics and 'mIoU' in Validated.metrics


def test_pruning_keeps_this_runs_checkpoints(pretrained_run, image_folder,
                                             tmp_path):
    """Resumed from epoch 2 in a work dir that also holds an epoch_5.pth of
    an earlier timeline: at max_keep_ckpts=1 the run keeps its own
    epoch_3.pth, and the other file is left alone."""
    import shutil
    work = str(tmp_path / 'w')
    shutil.copytree(pretrained_run, work)
    shutil.copy(osp.join(work, 'epoch_2.pth'), osp.join(work, 'epoch_5.pth'))
    cfg = _resume_cfg(
        image_folder, work, 'keep1', load_from=osp.join(work, 'epoch_2.pth'))
    cfg.default_hooks.checkpoint.max_keep_ckpts = 1
    _train(cfg)
    assert sorted(p for p in os.listdir(work)
                  if p.endswith('.pth')) == ['epoch_3.pth', 'epoch_5.pth']
