# GPU study preset, SemanticMIM arm, HOG target: ViT-S/16 on an
# ImageNet-format folder (ImageNet-100 by default), 100 epochs at batch
# 1024 (8 GPUs x 128). Why this schedule: on ImageNet-100 (~126k images)
# 100 epochs are ~12k iterations at batch 1024: a third of the ImageNet-1K
# recipe's epochs, short enough to run all four arms on one node, long
# enough for frozen-feature probes to separate MIM objectives. Run the four
# arms and the reports with tools/analysis/semanticmim_study_gpu.py.
_base_ = [
    '../_base_/models/semanticmim-maskfeat_vit-small-p16.py',
    '../_base_/datasets/imagenet-folder_bs128_semanticmim-maskfeat.py',
    '../_base_/schedules/semanticmim_adamw-coslr-100e.py',
    '../_base_/default_runtime.py',
]

default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=2))
