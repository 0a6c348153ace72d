# What every downstream run of this toolbox runs with, named here so that
# the tools swap and add nothing (in any other config they log each thing
# they swap or add): mmengine's Runner with strict load_from, crash-safe
# saving and a resume of the newest readable checkpoint, and the four hooks
# of every run. Scoped names: these configs run in mmpretrain's, mmseg's or
# mmdet's scope.
runner_type = 'SafeRunner'
custom_hooks = [
    # the encoder's settings in every checkpoint
    dict(type='mmsemanticmim.BackboneMetaHook'),
    # checkpoints that load under torch.load(weights_only=True)
    dict(type='mmsemanticmim.SafeCheckpointHook'),
    # a resume checks the settings and data it continues with
    dict(type='mmsemanticmim.ResumeGuardHook'),
    # a non-finite loss stops at a good checkpoint; old checkpoints are
    # pruned only after a newer one proved good
    dict(type='mmsemanticmim.NonFiniteLossHook'),
]
