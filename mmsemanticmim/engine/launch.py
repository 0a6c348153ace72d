"""Process-group set-up that every tool calls before building a Runner."""
import os

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
    backend = (((cfg or {}).get('env_cfg') or {}).get('dist_cfg')
               or {}).get('backend', 'gloo')
    if backend == 'nccl':
        backend = 'gloo'
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = '0'
    dist.init_process_group(backend=backend)
    return True
