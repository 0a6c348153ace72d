from .compat import (CorruptCheckpointError, UnsafeCheckpointError,
                     safe_torch_load, trust_checkpoint)
from .setup_env import register_all_modules

__all__ = [
    'register_all_modules', 'safe_torch_load', 'trust_checkpoint',
    'UnsafeCheckpointError', 'CorruptCheckpointError'
]
