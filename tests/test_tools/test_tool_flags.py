"""Command-line flags of the tools, and smoke runs of the benchmark and the
study at tiny size (so that they cannot rot unnoticed)."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from mmsemanticmim.utils.torch_features import (fsdp_runs_on_cpu,
                                                fused_adamw_supported)
from helpers import REPO, TINY_CONFIGS

ENV = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')


def _train_args(monkeypatch, *argv, data_root=None):
    from mmsemanticmim.engine.runners import command_line
    if data_root:
        if '--cfg-options' not in argv:
            argv = (*argv, '--cfg-options')
        argv = (*argv, f'train_dataloader.dataset.data_root={data_root}')
    args = command_line.build_train_parser().parse_args(
        [TINY_CONFIGS['maskfeat'], *argv])
    from mmengine.config import Config
    return command_line, args, command_line.merge_train_args(
        Config.fromfile(args.config), args)


def test_train_flags_fold_into_the_config(monkeypatch, tmp_path, image_folder):
    _, _, cfg = _train_args(monkeypatch, data_root=image_folder)
    assert cfg.optim_wrapper.get('type', 'OptimWrapper') == 'OptimWrapper'
    assert not cfg.get('resume', False)
    assert 'auto_scale_lr' not in cfg  # the tiny configs have none

    with pytest.raises(
            ValueError, match='--auto-scale-lr needs '
            'auto_scale_lr'):
        _train_args(monkeypatch, '--auto-scale-lr', data_root=image_folder)
    _, _, cfg = _train_args(
        monkeypatch,
        '--amp',
        '--auto-scale-lr',
        '--resume',
        'some/epoch_3.pth',
        '--work-dir',
        str(tmp_path),
        '--non-strict',
        '--cfg-options',
        'auto_scale_lr.base_batch_size=64',
        data_root=image_folder)
    assert cfg.optim_wrapper.type == 'mmsemanticmim.DeviceAmpOptimWrapper'
    assert cfg.optim_wrapper.cpu_autocast is True
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.resume is True and cfg.load_from == 'some/epoch_3.pth'
    assert cfg.auto_scale_lr == dict(base_batch_size=64, enable=True)
    assert cfg.work_dir == str(tmp_path)
    assert cfg.strict_load is False
    # the checkpoint, meta and divergence hooks are always there
    types = {h['type'].split('.')[-1] for h in cfg.custom_hooks}
    assert {'SafeCheckpointHook', 'BackboneMetaHook',
            'NonFiniteLossHook'} <= types

    _, _, cfg = _train_args(monkeypatch, '--resume', data_root=image_folder)
    assert cfg.resume is True and cfg.load_from is None  # latest
    assert not cfg.auto_resume
    _, _, cfg = _train_args(
        monkeypatch, '--auto-resume', data_root=image_folder)
    assert cfg.resume is True and cfg.auto_resume is True

    # (where this torch cannot shard on the CPU, prepare_config refuses the
    # result: test_fsdp.py; here the folding itself is checked)
    from mmsemanticmim.utils import torch_features
    monkeypatch.setattr(torch_features, 'fsdp_runs_on_cpu', lambda: True)
    _, _, cfg = _train_args(monkeypatch, '--fsdp', data_root=image_folder)
    assert cfg.runner_type == 'SafeFlexibleRunner'
    assert cfg.strategy.type == 'SafeFSDPStrategy'
    assert cfg.strategy.state_dict_cfg == 'full'
    assert cfg.strategy.model_wrapper.use_orig_params is True
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match='needs an accelerator'):
            _train_args(monkeypatch, '--fsdp', '--amp', data_root=image_folder)
    # with an accelerator, AMP under FSDP gets the sharded loss scaler
    from mmengine.config import Config

    from mmsemanticmim.engine import use_fsdp
    amp = Config(dict(optim_wrapper=dict(type='AmpOptimWrapper')))
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    use_fsdp(amp)
    assert amp.optim_wrapper.use_fsdp is True
    assert amp.strategy.type == 'SafeFSDPStrategy'

    with pytest.raises(ValueError, match='--amp needs an OptimWrapper'):
        _train_args(
            monkeypatch,
            '--amp',
            '--cfg-options',
            'optim_wrapper.type=ApexOptimWrapper',
            data_root=image_folder)


class _Code:
    """Pickles into a call of print: code that would run on load."""

    def __reduce__(self):
        return (print, ('code ran', ))


def test_trust_checkpoint_flag_opens_only_the_named_file(
        monkeypatch, tmp_path, image_folder):
    from mmsemanticmim.checkpoint import UnsafeCheckpointError, read_checkpoint
    from mmsemanticmim.checkpoint.reading import TRUST_ENV
    monkeypatch.setenv(TRUST_ENV, '')  # restored after
    trusted, other = str(tmp_path / 'trusted.pth'), str(tmp_path / 'x.pth')
    for p in (trusted, other):
        torch.save({'state_dict': {}, 'obj': _Code()}, p)
    command_line, args, _ = _train_args(
        monkeypatch, '--trust-checkpoint', trusted, data_root=image_folder)
    ran = []
    monkeypatch.setattr(
        command_line, 'build_runner',
        lambda cfg: ran.append(cfg) or type('R', (), {'train': lambda s: 0})())
    command_line.run_train(args)
    assert ran
    read_checkpoint(trusted)  # opted in: full unpickling
    with pytest.raises(UnsafeCheckpointError, match='--trust-checkpoint'):
        read_checkpoint(other)


def _run(cmd, **kw):
    return subprocess.run(
        cmd,
        cwd=REPO,
        env=dict(ENV, **kw),
        capture_output=True,
        text=True,
        timeout=900)


def test_test_py_missing_checkpoint_names_it(tmp_path):
    missing = str(tmp_path / 'nope.pth')
    proc = _run(
        [sys.executable, 'tools/test.py', TINY_CONFIGS['maskfeat'], missing])
    assert proc.returncode != 0
    assert f'checkpoint {missing} not found' in proc.stderr


def _argv_printer(tmp_path):
    """An executable that prints its argv as JSON (a stand-in PYTHON)."""
    printer = tmp_path / 'argv.py'
    printer.write_text(f'#!{sys.executable}\nimport json, sys\n'
                       'print(json.dumps(sys.argv[1:]))\n')
    printer.chmod(0o755)
    return str(printer)


def test_downstream_launcher_prefix_and_missing_checkpoint(tmp_path):
    """The checkpoint travels as one argument of train.py's own options, so
    a path with spaces and non-ASCII arrives as it is; the interpreter used
    is named."""
    import json
    script = 'tools/benchmarks/dist_train_downstream.sh'
    folder = tmp_path / 'runs with space' / 'épreuve'
    folder.mkdir(parents=True)
    ckpt = folder / 'epoch 2.pth'
    proc = _run(['bash', script, 'CONFIG.py', str(ckpt), '0'])
    assert proc.returncode == 2
    assert f'pre-training checkpoint {ckpt} not found' in proc.stderr
    ckpt.write_bytes(b'')
    printer = _argv_printer(tmp_path)
    default = _run(['bash', script, 'CONFIG.py',
                    str(ckpt), '0', '--amp'],
                   PYTHON=printer)
    assert json.loads(default.stdout) == [
        osp.join(REPO, 'tools/train.py'), 'CONFIG.py', '--amp', '--pretrained',
        str(ckpt), '--pretrained-prefix', 'backbone.'
    ]
    assert f'python: {printer} (from $PYTHON)' in default.stderr
    extracted = _run(['bash', script, 'CONFIG.py',
                      str(ckpt), '0'],
                     PYTHON=printer,
                     PREFIX='')
    assert json.loads(extracted.stdout)[-2:] == ['--pretrained-prefix', '']


def test_pretrained_flag_sets_the_backbone_init(monkeypatch, tmp_path,
                                                image_folder):
    """train.py --pretrained: init_cfg from the path as given (no key=value
    parsing on the way); a missing file is named."""
    folder = tmp_path / 'a dir' / 'ünï'
    folder.mkdir(parents=True)
    ckpt = folder / 'epoch 2.pth'
    ckpt.write_bytes(b'')
    _, _, cfg = _train_args(
        monkeypatch,
        '--pretrained',
        str(ckpt),
        '--pretrained-prefix',
        '',
        data_root=image_folder)
    assert cfg.model.backbone.init_cfg == dict(
        type='Pretrained', checkpoint=str(ckpt), prefix='')
    with pytest.raises(FileNotFoundError, match='--pretrained .*nope.pth'):
        _train_args(
            monkeypatch,
            '--pretrained',
            str(folder / 'nope.pth'),
            data_root=image_folder)


def test_launchers_find_the_project_venv(tmp_path):
    """Without PYTHON: the active venv, else the project's .venv, each
    named; dist_train.sh passes spaced arguments through unsplit."""
    import json
    import shutil
    repo = tmp_path / 'checkout'
    (repo / 'tools').mkdir(parents=True)
    for name in ('find_python.sh', 'dist_train.sh'):
        shutil.copy(osp.join(REPO, 'tools', name), repo / 'tools' / name)
    (repo / '.venv' / 'bin').mkdir(parents=True)
    venv_python = repo / '.venv' / 'bin' / 'python'
    shutil.copy(_argv_printer(tmp_path), venv_python)
    env = {k: v for k, v in ENV.items() if k not in ('PYTHON', 'VIRTUAL_ENV')}
    proc = subprocess.run([
        'bash',
        str(repo / 'tools' / 'dist_train.sh'), 'my config.py', '2',
        '--work-dir', 'a b'
    ],
                          env=env,
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert f"python: {venv_python} (from the project's .venv)" in \
        proc.stderr
    argv = json.loads(proc.stdout)
    assert argv[:2] == ['-m', 'torch.distributed.run']
    assert argv[-5:] == [
        'my config.py', '--launcher', 'pytorch', '--work-dir', 'a b'
    ]
    active = tmp_path / 'active'
    (active / 'bin').mkdir(parents=True)
    shutil.copy(venv_python, active / 'bin' / 'python')
    proc = subprocess.run(
        ['bash', str(repo / 'tools' / 'dist_train.sh'), 'c.py', '1'],
        env=dict(env, VIRTUAL_ENV=str(active)),
        capture_output=True,
        text=True)
    assert 'from the active virtual env' in proc.stderr


def test_pretrain_speed_smoke(tmp_path):
    """Both settings side by side, each with its optimizer and precision
    named; a wrong --reference-dir is refused naming the folder."""
    proc = _run([
        sys.executable, 'tools/profiling/pretrain_speed.py', '--device', 'cpu',
        '--batch-size', '1', '--steps', '1', '--warmup', '0', '--no-memory',
        '--targets', 'maskfeat'
    ])
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    rows = [
        line.split() for line in out.splitlines()
        if line.startswith(('semanticmim-', 'mmpretrain-'))
    ]
    assert {(r[0], r[1])
            for r in rows} == {(f, s)
                               for f in ('semanticmim-maskfeat',
                                         'mmpretrain-maskfeat')
                               for s in ('like', 'shipped')}
    ours_shipped = [
        r for r in rows if r[:2] == ['semanticmim-maskfeat', 'shipped']
    ][0]
    theirs_shipped = [
        r for r in rows if r[:2] == ['mmpretrain-maskfeat', 'shipped']
    ][0]
    # our config's optimizer: fused where this torch has it on the CPU
    kind = 'fused' if fused_adamw_supported('cpu') else 'foreach'
    assert ours_shipped[2] == f'DeviceAdamW({kind})'
    assert theirs_shipped[2] == 'AdamW(default)'  # mmpretrain's stock one
    for setting in ('like', 'shipped'):
        ratio = [
            line for line in out.splitlines()
            if line.startswith(f'ratio maskfeat {setting}: time')
        ]
        assert ratio and float(ratio[0].split()[-1].rstrip('x')) > 0
    proc = _run([
        sys.executable, 'tools/profiling/pretrain_speed.py', '--reference-dir',
        str(tmp_path)
    ])
    assert proc.returncode != 0
    assert f'--reference-dir {tmp_path}' in proc.stderr


def test_study_smoke(cls_folder, tmp_path):
    work = str(tmp_path / 'study')
    proc = _run([
        sys.executable, 'tools/analysis/semanticmim_study.py', '--work-dir',
        work, '--data-root', cls_folder, '--epochs', '2', '--seeds', '0'
    ])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    table = open(osp.join(work, 'results.md')).read()
    # the header says what data was used, counted on disk
    assert table.startswith(f'{osp.basename(cls_folder)} (16 train / 16 '
                            'val images, 2 classes); tiny ViT')
    for arm in ('SemanticMIM (HOG)', 'baseline (HOG)', 'SemanticMIM (pixel)',
                'baseline (pixel)', 'random init'):
        row = [
            line for line in table.splitlines()
            if line.startswith(f'| {arm} |')
        ][0]
        assert row.count('|') == 8 and ', L' in row  # best layer given
    import json
    report = json.load(open(osp.join(work, 'results.json')))
    assert report['data']['images'] == {'train': 16, 'val': 16}
    assert len(report['norm']['mean']) == 3
    for runs in report['results'].values():
        assert [r['seed'] for r in runs] == [0]
        kinds = {r['feature'] for r in runs[0]['records']}
        assert kinds == {'patch', 'proxy', 'patch+proxy'}
        assert len(runs[0]['records']) == 4 * 3
    for name in ('representation.md', 'representation.png', 'attention.md',
                 'attention.png', 'attention_maskfeat_side-by-side.png'):
        assert osp.exists(osp.join(work, name)), name
    assert '## Layer by layer' in table and '## Attention' in table


def test_pretrain_memory_smoke():
    proc = _run([
        sys.executable, 'tools/profiling/pretrain_memory.py', '--archs',
        'deit-tiny', '--models', 'semanticmim-maskfeat', '--modes', 'single',
        'fsdp', '--batch-size', '2', '--steps', '1', '--port',
        str(_free_port())
    ])
    assert proc.returncode == 0, proc.stderr[-3000:]
    row = [
        line.split() for line in proc.stdout.splitlines()
        if line.startswith('deit-tiny ') and 'semanticmim' in line
    ][0]
    assert float(row[3]) > 100  # MiB per process
    if torch.cuda.is_available() or fsdp_runs_on_cpu():
        assert float(row[4]) > 100  # measured too
    else:  # this torch cannot shard on the CPU: said, not a failure
        assert row[4] == 'n/a' and 'n/a: --modes fsdp' in proc.stdout


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_gpu_check_dry_run(tmp_path):
    """The prepared GPU check runs every part at tiny size on the CPU and
    reports it: 4 arms x eager/compiled, 4 configs trained 2 steps with
    finite losses, one UperNet step."""
    import json
    proc = _run(['bash', 'tools/profiling/gpu_check.sh', '--dry-run'],
                OUT=str(tmp_path),
                PYTHON=sys.executable,
                KIT_DIR=str(tmp_path / 'no-kit'))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((tmp_path / 'gpu_check.json').read_text())
    assert report['errors'] == [] and report['dry_run'] is True
    rows = {(r['arm'], r['compiled']) for r in report['throughput']}
    assert len(rows) == 8
    assert all(r['images_per_s'] > 0 and r['tflop_per_step'] > 0
               for r in report['throughput'])
    assert len(report['train']) == 4
    assert all(r['steps'] == 2 for r in report['train'])
    assert report['upernet']['loss'] > 0
    assert (tmp_path / 'gpu_check.log').read_text().count('train ') >= 4
    # most important first: our MaskFeat-target step, then the baseline
    assert [(r['arm'], r['compiled']) for r in report['throughput']
            ][:4] == [('semanticmim-maskfeat', False),
                      ('mmpretrain-maskfeat', False),
                      ('semanticmim-maskfeat', True),
                      ('mmpretrain-maskfeat', True)]


def test_gpu_check_killed_keeps_what_it_measured(tmp_path):
    """A run killed (as by the device's time limit) right after its first
    figure leaves that figure in gpu_check.json."""
    import json
    import signal
    proc = subprocess.Popen([
        'bash', 'tools/profiling/gpu_check.sh', '--dry-run', '--parts',
        'throughput'
    ],
                            cwd=REPO,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT,
                            text=True,
                            start_new_session=True,
                            env=dict(
                                ENV,
                                OUT=str(tmp_path),
                                PYTHON=sys.executable,
                                KIT_DIR=str(tmp_path / 'no-kit')))
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if line.startswith('semanticmim-maskfeat '):
            os.killpg(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    assert seen and seen[-1].startswith('semanticmim-maskfeat'), seen[-20:]
    report = json.loads((tmp_path / 'gpu_check.json').read_text())
    assert [r['arm'] for r in report['throughput']] == ['semanticmim-maskfeat']


def test_gpu_study_preset_end_to_end_on_cpu(tmp_path):
    """The GPU study script at its real ViT-S/16 configs, cut to one epoch
    of 2 images on one CPU process: all four arms train through
    dist_train.sh, both reports cover every arm (and the random floor), and
    a finished arm is not trained again."""
    import json
    import shutil

    from conftest import write_image_folder
    data = str(tmp_path / 'data')
    write_image_folder(data, num_classes=2, per_class=1, size=48)
    shutil.copytree(osp.join(data, 'train'), osp.join(data, 'val'))
    work = str(tmp_path / 'work')
    args = [
        sys.executable, 'tools/analysis/semanticmim_study_gpu.py',
        '--data-root', data, '--gpus', '1', '--work-dir', work, '--epochs',
        '2', '--batch-size', '2', '--max-per-class', '0', '--device', 'cpu',
        '--cfg-options', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False'
    ]
    proc = _run(args)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for arm in ('semanticmim-maskfeat', 'baseline-maskfeat',
                'semanticmim-pixel', 'baseline-pixel'):
        assert osp.isfile(osp.join(work, arm, 'epoch_2.pth')), arm
    rep = json.load(open(osp.join(work, 'representation.json')))
    assert set(rep) == {
        'SemanticMIM (HOG)', 'baseline (HOG)', 'SemanticMIM (pixel)',
        'baseline (pixel)', 'random init'
    }
    assert all(len(v['records']) == 12 * 3 for v in rep.values())
    attn = json.load(open(osp.join(work, 'attention.json')))
    assert all(s['grid'] == [14, 14] and len(s['distance']) == 12
               and len(s['distance'][0]) == 6 for s in attn.values())
    summary = open(osp.join(work, 'summary.md')).read()
    assert summary.startswith('data (2 train / 2 val images, 2 classes); '
                              'ViT-S/16, 2 epochs on 1 GPU(s)')
    for name in ('representation.png', 'attention.png'):
        assert osp.isfile(osp.join(work, name))
    proc = _run(args + ['--arms', 'baseline-pixel'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'epoch_2.pth exists, not trained again' in proc.stdout
    # other settings in the same folder are refused before any training
    more = list(args)
    more[more.index('--epochs') + 1] = '3'
    proc = _run(more + ['--arms', 'baseline-pixel'])
    assert proc.returncode != 0
    assert "holds a run with other settings (was, now): {'epochs': (2, 3)}" \
        in proc.stderr


def test_gpu_study_schedule_stretch():
    """--epochs stretches the preset's schedule: a tenth of warm-up, the
    cosine over the rest, parsed as train.py parses --cfg-options."""
    import argparse
    import runpy

    from mmengine.config import Config, DictAction
    study = runpy.run_path(
        osp.join(REPO, 'tools', 'analysis', 'semanticmim_study_gpu.py'))
    ARMS, config_path = study['ARMS'], study['config_path']
    schedule_options = study['schedule_options']
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    for epochs, warm in ((15, 1), (40, 4), (2, 1)):
        cfg = Config.fromfile(config_path(next(iter(ARMS))))
        cfg.merge_from_dict(
            parser.parse_args(['--cfg-options',
                               *schedule_options(epochs)]).cfg_options)
        warmup, cosine = cfg.param_scheduler
        assert cfg.train_cfg.max_epochs == epochs
        assert (warmup.end, cosine.begin, cosine.end,
                cosine.T_max) == (warm, warm, epochs, epochs - warm)


def test_no_tool_or_test_changes_sys_path():
    """Tools reach the library through the installed package and tests run
    tools as scripts: none puts a folder on ``sys.path``."""
    import glob
    import re
    pattern = re.compile(r'sys\.path\.(insert|append|extend)|sys\.path\[')
    found = [
        f'{path}:{n}' for path in sorted(
            glob.glob(osp.join(REPO, 'tools', '**', '*.py'), recursive=True) +
            glob.glob(osp.join(REPO, 'tests', '**', '*.py'), recursive=True))
        for n, line in enumerate(open(path), 1)
        if pattern.search(line) and 'pattern = re.compile' not in line
    ]
    assert not found, found
