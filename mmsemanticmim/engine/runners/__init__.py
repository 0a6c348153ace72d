from .build import backbone_from_checkpoint, build_runner, prepare_config
from .safe_runner import NothingToResumeError, SafeRunner

__all__ = [
    'SafeRunner', 'NothingToResumeError', 'build_runner', 'prepare_config',
    'backbone_from_checkpoint'
]
