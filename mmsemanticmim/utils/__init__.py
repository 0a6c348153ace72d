from .checkpoint_file import (CorruptCheckpointError, UnsafeCheckpointError,
                              read_checkpoint, register_checkpoint_loaders,
                              trust_checkpoint)
from .setup_env import register_all_modules

__all__ = [
    'register_all_modules', 'read_checkpoint', 'trust_checkpoint',
    'UnsafeCheckpointError', 'CorruptCheckpointError',
    'register_checkpoint_loaders'
]
