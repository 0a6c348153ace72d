from .backbone_meta_hook import BackboneMetaHook
from .compile_forward_hook import CompileForwardHook
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .resume_guard_hook import ResumeGuardHook, ResumeSettingsError
from .safe_checkpoint_hook import (CHECKPOINT_HOOKS, SafeCheckpointHook,
                                   add_checkpoint_hooks)

__all__ = [
    'SafeCheckpointHook', 'BackboneMetaHook', 'add_checkpoint_hooks',
    'CHECKPOINT_HOOKS', 'NonFiniteLossHook', 'NonFiniteLossError',
    'ResumeGuardHook', 'ResumeSettingsError', 'CompileForwardHook'
]
