# SemanticMIM-MaskFeat at ViT-H/14 (32 layers, width 1280, 16 heads, patch
# 14: a 16x16 grid at 224) in both stacks, activation checkpointing on in
# both. HOG keeps its 2x2 cells a patch and 108 values by scaling the cell
# (pool 7) and the gaussian window (14) with the patch.
# Neither MaskFeat nor BEiT published a ViT-H recipe: the ViT-L values are
# carried over (MAE's ViT-H/14 also keeps its ViT-L optimiser settings).
_base_ = './semanticmim-maskfeat_vit-base-p16.py'

model = dict(
    with_cp=True,
    backbone=dict(arch='huge', patch_size=14, drop_path_rate=0.),
    head=dict(predictor=dict(in_channels=1280)),
    target_generator=dict(pool=7, gaussian_window=14, patch_size=14))
