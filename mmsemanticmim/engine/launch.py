"""Process-group set-up that every tool calls before building a Runner."""
import datetime
import os
from typing import Optional

import torch


def init_distributed(launcher: str, cfg=None) -> bool:
    """Start the process group of ``--launcher pytorch`` on a machine
    without CUDA.

    mmengine 0.10.7's ``init_dist`` (``_init_dist_pytorch`` in
    mmengine/dist/utils.py) calls ``torch.cuda.set_device`` whatever the
    device, which a CPU torch cannot do (no upstream issue found). Without
    CUDA the group is started here, with gloo where nccl was asked for
    (nccl needs GPUs); the Runner's and the strategies' own set-up then
    skip theirs (they initialise only when no group exists). With CUDA,
    or another launcher, nothing is done.

    Args:
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'``, ``'mpi'``.
        cfg (mmengine.Config, optional): Its ``env_cfg.dist_cfg.backend``
            is used when it is not nccl.

    Returns:
        bool: Whether a process group was started here.
    """
    import torch.distributed as dist
    if launcher != 'pytorch' or torch.cuda.is_available() or \
            not dist.is_available() or dist.is_initialized():
        return False
    dist_cfg = ((cfg or {}).get('env_cfg') or {}).get('dist_cfg') or {}
    backend = dist_cfg.get('backend', 'gloo')
    if backend == 'nccl':
        backend = 'gloo'
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = '0'
    kwargs = {}
    timeout = dist_timeout(cfg)
    if timeout is not None:  # seconds, as mmengine's init_dist reads it
        kwargs['timeout'] = datetime.timedelta(seconds=timeout)
    dist.init_process_group(backend=backend, **kwargs)
    return True


def close_distributed() -> None:
    """End the process group once every rank is done (a no-op without
    one).

    Left to interpreter exit, a gloo group's threads are torn down in no
    set order: a rank that exits while another still holds a connection
    can abort (``terminate called without an active exception``, SIGABRT)
    after its run succeeded.
    """
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def dist_timeout(cfg) -> Optional[float]:
    """``env_cfg.dist_cfg.timeout`` in seconds, or None (torch's default:
    30 minutes); anything but a positive number is refused, naming it."""
    timeout = ((((cfg or {}).get('env_cfg') or {}).get('dist_cfg')
                or {}).get('timeout'))
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
            or timeout <= 0:
        raise ValueError(f'env_cfg.dist_cfg.timeout={timeout!r}: give the '
                         'seconds a collective may wait for the other '
                         'ranks, a positive number (e.g. 1800).')
    return float(timeout)


class DistTimeoutError(RuntimeError):
    """A rank did not answer a collective within the configured timeout."""


#: What torch's process-group backends say when a collective times out
#: (gloo: "Timed out waiting 10000ms for send operation to complete";
#: nccl's watchdog: "Watchdog caught collective operation timeout").
TIMEOUT_SIGNS = ('Timed out waiting', 'collective operation timeout')


def explain_dist_timeout(error: RuntimeError, cfg) -> Optional[Exception]:
    """The error to raise for ``error`` if it is a collective that timed out
    (another rank hung or stopped), naming the configured timeout; None for
    any other error."""
    import torch.distributed as dist
    if not dist.is_available() or not dist.is_initialized() or \
            not any(sign in str(error) for sign in TIMEOUT_SIGNS):
        return None
    timeout = dist_timeout(cfg)
    limit = (f'env_cfg.dist_cfg.timeout={timeout:g} s' if timeout else
             "torch's default timeout (30 min; env_cfg.dist_cfg.timeout)")
    return DistTimeoutError(
        f'Rank {dist.get_rank()} waited {limit} for the other ranks in a '
        'collective operation and stopped: another rank is hung, stopped '
        'or far slower. Resume with --resume once the job is restarted '
        f'(backend: {str(error).strip().splitlines()[0][:300]})')
