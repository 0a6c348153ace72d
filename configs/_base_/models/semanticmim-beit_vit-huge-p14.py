# SemanticMIM-BEiT at ViT-H/14 in both stacks, activation checkpointing on:
# BEiT's large-model layer scale 1e-5, drop path 0.1. The DALL-E tokenizer
# reads a 128x128 second view (its 8x downsampling gives the 16x16 grid of
# the 14-pixel patches of a 224 image).
# Neither MaskFeat nor BEiT published a ViT-H recipe: the ViT-L values are
# carried over (MAE's ViT-H/14 also keeps its ViT-L optimiser settings).
_base_ = './semanticmim-beit_vit-base-p16.py'

model = dict(
    with_cp=True,
    backbone=dict(arch='huge', patch_size=14, layer_scale_init_value=1e-5),
    head=dict(embed_dims=1280))
