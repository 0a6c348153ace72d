# Runtime shared by every mmsemanticmim config (mmpretrain's defaults, in our
# scope, with checkpoints that load under torch.load(weights_only=True)).
# The tools run exactly this: the runner and hooks below are named here, and
# a config that names mmengine's Runner or lacks a hook gets it swapped or
# added, with one log line each ("Config changed by mmsemanticmim: ...").
default_scope = 'mmsemanticmim'
custom_imports = dict(imports=['mmsemanticmim'], allow_failed_imports=False)
# mmengine's Runner with strict load_from, crash-safe saving and a resume
# that takes the newest readable checkpoint
runner_type = 'SafeRunner'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
)
custom_hooks = [
    # the encoder's settings in every checkpoint (downstream configs read
    # them)
    dict(type='BackboneMetaHook'),
    # checkpoints that load under torch.load(weights_only=True)
    dict(type='SafeCheckpointHook'),
    # a resume checks the settings and data it continues with
    dict(type='ResumeGuardHook'),
    # a non-finite loss stops the run at a good checkpoint; old checkpoints
    # are pruned only after a newer one proved good (it takes over
    # CheckpointHook's max_keep_ckpts)
    dict(type='NonFiniteLossHook'),
]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, diff_rank_seed=True)
