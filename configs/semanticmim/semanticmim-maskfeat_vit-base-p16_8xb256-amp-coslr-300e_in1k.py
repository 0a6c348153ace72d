_base_ = [
    '../_base_/models/semanticmim-maskfeat_vit-base-p16.py',
    '../_base_/datasets/imagenet_bs256_semanticmim-maskfeat.py',
    '../_base_/schedules/semanticmim-maskfeat_adamw-coslr-300e.py',
    '../_base_/default_runtime.py',
]
