from .safe_checkpoint_hook import (SafeCheckpointHook,
                                   add_safe_checkpoint_hook, from_weights_only,
                                   to_weights_only)

__all__ = [
    'SafeCheckpointHook', 'add_safe_checkpoint_hook', 'to_weights_only',
    'from_weights_only'
]
