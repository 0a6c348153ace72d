# SemanticMIM-BEiT at ViT-L/16 in both stacks: BEiT's ViT-L pre-training
# recipe changes layer scale from 0.1 to 1e-5 (microsoft/unilm beit/README:
# "0.1 for base, 1e-5 for large"); drop path 0.1, lr 1.5e-3 at 2048 and clip
# 3.0 as for ViT-B (the BEiT v2 ViT-L command in beit2/PRETRAINING.md; v1
# publishes no ViT-L pre-training command).
_base_ = './semanticmim-beit_vit-base-p16.py'

model = dict(
    backbone=dict(arch='large', layer_scale_init_value=1e-5),
    head=dict(embed_dims=1024))
