# SemanticMIM, normalised-pixel target, at ViT-S/16 (DeiT-S widths), for the
# GPU study preset: the ViT-B pixel model otherwise unchanged.
_base_ = './semanticmim-pixel_vit-base-p16.py'

model = dict(
    backbone=dict(arch='deit-small'),
    head=dict(predictor=dict(in_channels=384)))
