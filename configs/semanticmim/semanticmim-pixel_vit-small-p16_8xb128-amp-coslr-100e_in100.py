# GPU study preset, SemanticMIM arm, normalised-pixel target: ViT-S/16, the
# HOG arm's data and schedule (see semanticmim-maskfeat_vit-small-p16_...).
_base_ = [
    '../_base_/models/semanticmim-pixel_vit-small-p16.py',
    '../_base_/datasets/imagenet-folder_bs128_semanticmim-maskfeat.py',
    '../_base_/schedules/semanticmim_adamw-coslr-100e.py',
    '../_base_/default_runtime.py',
]

default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=2))
