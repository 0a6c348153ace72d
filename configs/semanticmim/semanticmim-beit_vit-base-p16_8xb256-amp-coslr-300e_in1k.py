_base_ = [
    '../_base_/models/semanticmim-beit_vit-base-p16.py',
    '../_base_/datasets/imagenet_bs256_semanticmim-beit.py',
    '../_base_/schedules/semanticmim-beit_adamw-coslr-300e.py',
    '../_base_/default_runtime.py',
]
