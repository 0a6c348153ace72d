# Tiny CPU config (tests and `make demo`) on the embedded demo digits.
_base_ = [
    '../_base_/models/semanticmim-maskfeat_vit-tiny-p4.py',
    '../_base_/datasets/mnist-demo_bs64_semanticmim-maskfeat.py',
    '../_base_/schedules/demo_adamw-coslr-10e.py',
    '../_base_/default_runtime.py',
]

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2))
