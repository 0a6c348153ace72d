# SemanticMIM, normalised-pixel target: the MaskFeat instantiation's data
# (one 224 view, mask 0.8) and schedule, with pixels instead of HOG.
_base_ = [
    '../_base_/models/semanticmim-pixel_vit-base-p16.py',
    '../_base_/datasets/imagenet_bs256_semanticmim-maskfeat.py',
    '../_base_/schedules/semanticmim-maskfeat_adamw-coslr-300e.py',
    '../_base_/default_runtime.py',
]
