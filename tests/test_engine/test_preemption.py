"""Preemption and shared work dirs, as a cluster user meets them: a kill -9
during a save, two runs in one work dir, a hung rank. Each runs
tools/train.py in subprocesses."""
import glob
import os
import os.path as osp
import signal
import subprocess
import sys
import threading
import time

import pytest

from mmsemanticmim.checkpoint import is_readable_checkpoint
from mmsemanticmim.checkpoint.work_dir import latest_checkpoint
from helpers import REPO, TINY_CONFIGS

ENV = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')

#: A wider tiny model: checkpoints of ~150 MB (weights and AdamW state),
#: long enough to write that a kill lands in the middle of one.
WIDE = [
    'model.backbone.arch.embed_dims=384', 'model.backbone.arch.num_heads=6',
    'model.backbone.arch.feedforward_channels=1536',
    'model.head.predictor.in_channels=384'
]


def _train(image_folder, work, epochs, keep, *extra):
    return [
        sys.executable, 'tools/train.py', TINY_CONFIGS['maskfeat'],
        '--work-dir', work, *extra, '--cfg-options',
        f'train_dataloader.dataset.data_root={image_folder}',
        'train_dataloader.batch_size=8', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        f'train_cfg.max_epochs={epochs}',
        f'default_hooks.checkpoint.max_keep_ckpts={keep}', *WIDE
    ]


def _kill_during_save(cmd, work, name, tries=3):
    """Start ``cmd``; kill -9 it while ``name`` is being written (its
    ``.tmp`` exists). Retried (a fresh work dir each time) if the save
    finished between two looks."""
    for attempt in range(tries):
        for path in glob.glob(osp.join(work, '*')):
            subprocess.run(['rm', '-rf', path], check=True)
        proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            env=ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True)
        tmp = osp.join(work, name + '.tmp')
        deadline = time.time() + 300
        while proc.poll() is None and time.time() < deadline:
            if osp.exists(tmp) and os.path.getsize(tmp) > 0:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                if osp.exists(tmp) and not osp.exists(osp.join(work, name)):
                    return
                break
            time.sleep(0.002)
        else:
            proc.kill()
            proc.wait()
            raise AssertionError(f'{name} was never written: ' +
                                 proc.stderr.read()[-3000:])
    pytest.fail(f'no kill landed inside the save of {name} in {tries} tries')


@pytest.mark.parametrize('keep', [1, 2])
def test_kill_during_save_loses_no_checkpoint(image_folder, tmp_path, keep):
    """kill -9 while epoch_{keep+1}.pth is written: the ``keep`` earlier
    checkpoints are all there, last_checkpoint names a readable one, and
    --auto-resume goes on from it (taking over the dead run's lock)."""
    work = str(tmp_path / 'w')
    os.makedirs(work)
    epochs = keep + 1
    _kill_during_save(
        _train(image_folder, work, epochs, keep), work, f'epoch_{epochs}.pth')
    for epoch in range(1, epochs):
        assert is_readable_checkpoint(osp.join(work, f'epoch_{epoch}.pth'))
    latest = latest_checkpoint(work)
    assert latest == osp.join(work, f'epoch_{keep}.pth')
    assert is_readable_checkpoint(latest)
    proc = subprocess.run(
        _train(image_folder, work, epochs, keep, '--auto-resume'),
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert f'Resuming from {latest}' in log
    assert 'Taking over the lock of a finished run' in log
    assert sorted(os.listdir(work)).count(f'epoch_{epochs}.pth') == 1
    kept = sorted(p for p in os.listdir(work) if p.endswith('.pth'))
    assert kept == [
        f'epoch_{e}.pth' for e in range(epochs - keep + 1, epochs + 1)
    ]


def test_one_run_per_work_dir(image_folder, tmp_path):
    """A second run in a busy work dir is refused, naming the first, and
    touches nothing there; the first releases the lock when it stops."""
    work = str(tmp_path / 'w')
    long_run = [
        a for a in _train(image_folder, work, 1000, 2) if a not in WIDE
    ]
    first = subprocess.Popen(
        long_run,
        cwd=REPO,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True)
    try:
        lock = osp.join(work, 'train.lock')
        deadline = time.time() + 120
        while not osp.exists(lock) and time.time() < deadline:
            time.sleep(0.05)
        assert osp.exists(lock), 'the first run never took the lock'
        second = subprocess.run(
            _train(image_folder, work, 1, 2, '--cfg-options',
                   'optim_wrapper.optimizer.lr=5e-4'),
            cwd=REPO,
            env=ENV,
            capture_output=True,
            text=True,
            timeout=300)
        assert first.poll() is None, 'the first run ended too soon'
        assert second.returncode != 0
        assert 'is in use by another training run' in second.stderr
        assert f'PID {first.pid}' in second.stderr
        # nothing of the second run's: one log folder, the first's config
        logs = [p for p in os.listdir(work) if osp.isdir(osp.join(work, p))]
        assert len(logs) == 1
        for copy in glob.glob(osp.join(work, '*.py')):
            assert '0.0005' not in open(copy).read()
    finally:
        first.send_signal(signal.SIGINT)  # Ctrl-C
        first.wait(timeout=120)
    assert not osp.exists(lock)  # released on the way out


def test_hung_rank_ends_the_job_within_the_timeout(image_folder, tmp_path):
    """Rank 1 stops itself (SIGSTOP) mid-training; rank 0 ends within
    env_cfg.dist_cfg.timeout, naming it."""
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    (tmp_path / 'stopper.py').write_text(
        'import os, signal\n'
        'from mmengine.hooks import Hook\n'
        'from mmsemanticmim.registry import HOOKS\n'
        '@HOOKS.register_module()\n'
        'class StopRankOne(Hook):\n'
        '    def before_train_iter(self, runner, batch_idx, data_batch=None):'
        '\n'
        '        if runner.rank == 1 and runner.iter == 1:\n'
        f'            open({str(tmp_path / "stopped.pid")!r}, "w").write('
        'str(os.getpid()))\n'
        '            os.kill(os.getpid(), signal.SIGSTOP)\n')
    config = tmp_path / 'hung.py'
    config.write_text(
        f'_base_ = [{TINY_CONFIGS["maskfeat"]!r}]\n'
        "custom_imports = dict(imports=['mmsemanticmim', 'stopper'], "
        'allow_failed_imports=False)\n'
        "custom_hooks = [dict(type='StopRankOne')]\n"
        "env_cfg = dict(dist_cfg=dict(backend='gloo', timeout=10))\n")
    cmd = [
        sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
        '--master_port',
        str(port), 'tools/train.py',
        str(config), '--launcher', 'pytorch', '--work-dir',
        str(tmp_path / 'w'), '--cfg-options',
        f'train_dataloader.dataset.data_root={image_folder}',
        'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'train_cfg.max_epochs=1'
    ]
    env = dict(ENV, PYTHONPATH=str(tmp_path))
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True)
    lines = []
    # torch's default (30 min) would run past this; once rank 0 has said
    # why it stopped, the stopped rank is killed (torchrun would give it
    # 30 s to answer SIGTERM, which a stopped process cannot)
    killer = threading.Timer(240, os.killpg, (proc.pid, signal.SIGKILL))
    killer.start()
    try:
        for line in proc.stdout:
            lines.append(line)
            if 'DistTimeoutError:' in line:
                break
    finally:
        killer.cancel()
        stopped = tmp_path / 'stopped.pid'
        for group in [proc.pid] + ([int(stopped.read_text())]
                                   if stopped.exists() else []):
            try:  # torchrun, and the stopped rank (its own group)
                os.killpg(os.getpgid(group), signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()
    out = ''.join(lines)
    assert 'DistTimeoutError' in out, out[-3000:]
    assert 'env_cfg.dist_cfg.timeout=10 s' in out, out[-3000:]


def test_lock_from_another_host_is_taken_over_once_its_heartbeat_stops(
        tmp_path, monkeypatch):
    """A shared file system: a lock written on another machine is refused
    while fresh and taken over once older than STALE_AFTER_S, or at once
    by the same scheduler job (requeued on another node)."""
    import json

    from mmsemanticmim.engine import WorkDirBusyError
    from mmsemanticmim.engine.work_dir_lock import STALE_AFTER_S, WorkDirLock
    lock = WorkDirLock(str(tmp_path))
    holder = dict(
        host='node-17', pid=4242, started='earlier', command='train.py CFG')
    with open(lock.path, 'w') as f:
        json.dump(holder, f)
    with pytest.raises(WorkDirBusyError, match='PID 4242 on node-17'):
        lock.acquire()
    old = time.time() - STALE_AFTER_S - 5
    os.utime(lock.path, (old, old))
    lock.acquire()
    assert lock.held and json.load(open(lock.path))['pid'] == os.getpid()
    lock.release()
    assert not osp.exists(lock.path)
    with open(lock.path, 'w') as f:
        json.dump(dict(holder, job='981'), f)
    monkeypatch.setenv('SLURM_JOB_ID', '981')
    lock.acquire()
    assert json.load(open(lock.path))['job'] == '981'
    lock.release()
    assert os.listdir(str(tmp_path)) == []  # no helper files left
