# SemanticMIM-MaskFeat at ViT-S/16 (DeiT-S widths: 12 layers, width 384,
# 6 heads; mmpretrain's 'deit-small', not its 8-layer 'small') in both
# stacks, for the GPU study preset: the ViT-B model otherwise unchanged
# (8 proxies, HOG 108 values a patch, no layer scale, no drop path).
_base_ = './semanticmim-maskfeat_vit-base-p16.py'

model = dict(
    backbone=dict(arch='deit-small'),
    head=dict(predictor=dict(in_channels=384)))
