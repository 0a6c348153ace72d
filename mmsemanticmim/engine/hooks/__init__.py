from .backbone_meta_hook import BackboneMetaHook
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .resume_guard_hook import ResumeGuardHook, ResumeSettingsError
from .safe_checkpoint_hook import (SafeCheckpointHook, add_checkpoint_hooks,
                                   from_weights_only, to_weights_only)

__all__ = [
    'SafeCheckpointHook', 'BackboneMetaHook', 'add_checkpoint_hooks',
    'to_weights_only', 'from_weights_only', 'NonFiniteLossHook',
    'NonFiniteLossError', 'ResumeGuardHook', 'ResumeSettingsError'
]
