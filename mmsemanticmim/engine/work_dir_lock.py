"""One training run per work dir.

Two runs in one work dir overwrite each other's checkpoints, config copy
and log without a word. A training run holds ``WORK_DIR/train.lock``
(host, PID, process start time, scheduler job id, start date, command line)
for its lifetime; a second run is refused, naming the first. A lock whose
run is gone is reported and taken over: at once by the same scheduler job
(a requeued ``SLURM_JOB_ID``), on the same host when its process no longer
exists, from another host (a shared file system) when its heartbeat (the
file's mtime, refreshed every :data:`HEARTBEAT_S` seconds) is older than
:data:`STALE_AFTER_S`. Distributed runs take the lock on rank 0 only.
"""
import json
import os
import os.path as osp
import socket
import sys
import threading
import time
from typing import Optional

from mmengine.logging import print_log

LOCK_NAME = 'train.lock'
#: How often the holder refreshes the lock's mtime.
HEARTBEAT_S = 30.0
#: A lock from another host not refreshed for this long is taken over.
STALE_AFTER_S = 120.0
#: The scheduler's job id: a requeued job takes over its own lock at once.
JOB_ID = 'SLURM_JOB_ID'


class WorkDirBusyError(RuntimeError):
    """Another run holds the work dir."""


def _process_start(pid: int) -> Optional[str]:
    """The start time of ``pid`` in clock ticks since boot (Linux), which
    tells a reused PID from the original; None where unknown."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(holder: dict) -> bool:
    """Whether the run described by ``holder`` (a lock on this host) still
    runs."""
    pid = int(holder.get('pid', -1))
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        pass
    start = holder.get('process_start')
    return start is None or _process_start(pid) in (None, start)


def _link_or_create(source: str, path: str) -> None:
    """Create ``path`` holding ``source``'s bytes, failing with
    ``FileExistsError`` if it exists: a hard link (the lock appears whole),
    or, on a file system without links, an exclusive create."""
    try:
        os.link(source, path)
        return
    except FileExistsError:
        raise
    except OSError:  # no hard links here (some network / FUSE mounts)
        pass
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    with os.fdopen(fd, 'wb') as f, open(source, 'rb') as src:
        f.write(src.read())


def describe(holder: dict) -> str:
    return (f"PID {holder.get('pid')} on {holder.get('host')}, started "
            f"{holder.get('started')} ({holder.get('command')})")


class WorkDirLock:
    """The lock of one training run in ``work_dir``; see the module."""

    def __init__(self, work_dir: str) -> None:
        self.path = osp.join(work_dir, LOCK_NAME)
        self.held = False
        self._stop = threading.Event()
        self._beat: Optional[threading.Thread] = None

    def _record(self) -> dict:
        return dict(
            host=socket.gethostname(),
            pid=os.getpid(),
            process_start=_process_start(os.getpid()),
            job=os.environ.get(JOB_ID),
            started=time.strftime('%Y-%m-%d %H:%M:%S %Z'),
            command=' '.join([osp.basename(sys.argv[0])] + sys.argv[1:])[:300])

    def _read(self) -> Optional[dict]:
        try:
            with open(self.path) as f:
                return json.load(f)
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}  # half-written by a crash: no holder to ask

    def _stale_reason(self, holder: dict) -> Optional[str]:
        """Why the run holding the lock is gone, or None if it may run."""
        if not holder:
            return 'the lock file is unreadable'
        if holder.get('job') and holder.get('job') == os.environ.get(JOB_ID):
            return (f'it is this job ({JOB_ID}={holder["job"]}), requeued '
                    '(preempted or restarted)')
        if holder.get('host') == socket.gethostname():
            if holder.get('pid') == os.getpid():
                return 'it is this process (an earlier runner of it)'
            return None if _alive(holder) else \
                f"process {holder.get('pid')} no longer exists"
        try:
            age = time.time() - os.stat(self.path).st_mtime
        except FileNotFoundError:
            return 'the lock was released'
        if age > STALE_AFTER_S:
            return (f'its heartbeat stopped {age:.0f} s ago (more than '
                    f'{STALE_AFTER_S:.0f} s)')
        return None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`WorkDirBusyError` naming the run
        that holds it."""
        os.makedirs(osp.dirname(self.path) or '.', exist_ok=True)
        for _ in range(3):  # a stale lock removed between tries: retry
            mine = f'{self.path}.{socket.gethostname()}.{os.getpid()}'
            with open(mine, 'w') as f:  # whole before anyone can read it
                json.dump(self._record(), f)
            try:
                _link_or_create(mine, self.path)  # fails if the lock exists
            except FileExistsError:
                holder = self._read()
                if holder is None:
                    continue
                reason = self._stale_reason(holder)
                if reason is None:
                    raise WorkDirBusyError(
                        f'{osp.dirname(self.path)} is in use by another '
                        f'training run: {describe(holder)} (lock '
                        f'{self.path}). Give this run its own --work-dir, or '
                        'wait for that one to end. If it is gone (killed on '
                        f'another machine), the lock is taken over once its '
                        f'heartbeat is {STALE_AFTER_S:.0f} s old, or delete '
                        f'{self.path}.') from None
                print_log(
                    f'Taking over the lock of a finished run '
                    f'({describe(holder)}): {reason}.',
                    logger='current',
                    level=30)
                self._remove_if(holder)
                continue
            finally:
                os.remove(mine)
            self.held = True
            self._beat = threading.Thread(
                target=self._heartbeat, name='work-dir-lock', daemon=True)
            self._beat.start()
            return
        raise WorkDirBusyError(f'Could not take {self.path}: other runs keep '
                               'taking it.')

    def _remove_if(self, holder: dict) -> None:
        """Remove the lock if it still is ``holder``'s: moved aside under a
        name of our own first, so that two runs taking over one stale lock
        cannot remove the lock one of them has just taken."""
        aside = f'{self.path}.stale.{socket.gethostname()}.{os.getpid()}'
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return
        try:
            with open(aside) as f:
                moved = json.load(f)
        except (OSError, ValueError):
            moved = {}
        if moved != holder:  # a run took it meanwhile: put it back
            try:
                _link_or_create(aside, self.path)
            except FileExistsError:
                pass
        os.remove(aside)

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                os.utime(self.path)
            except OSError:
                pass  # removed or read-only: the next run decides

    def release(self) -> None:
        """Remove the lock if this process holds it."""
        if not self.held:
            return
        self._stop.set()
        self.held = False
        holder = self._read()
        if holder and holder.get('pid') == os.getpid() and \
                holder.get('host') == socket.gethostname():
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass
