from .build import (FSDP_RUNTIME, backbone_from_checkpoint, build_runner,
                    prepare_config, use_fsdp)
from .safe_runner import (NothingToResumeError, SafeFlexibleRunner,
                          SafeRunner)

__all__ = [
    'SafeRunner', 'NothingToResumeError', 'build_runner', 'prepare_config',
    'backbone_from_checkpoint', 'use_fsdp', 'FSDP_RUNTIME',
    'SafeFlexibleRunner'
]
