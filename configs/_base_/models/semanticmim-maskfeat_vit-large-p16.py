# SemanticMIM-MaskFeat at ViT-L/16 (24 layers, width 1024, 16 heads) in both
# stacks: the ViT-B model otherwise unchanged (8 proxies, HOG 108 values a
# patch, no layer scale), with MaskFeat's ViT-L pre-training drop path: 0,
# as for ViT-B (facebookresearch/SlowFast configs/masked_ssl/
# in1k_VIT_L_MaskFeat_PT.yaml: DROPPATH_RATE 0.0, the same lr per 256 images,
# clip 0.02 and 30 warm-up epochs as its ViT-B file).
_base_ = './semanticmim-maskfeat_vit-base-p16.py'

model = dict(
    backbone=dict(arch='large', drop_path_rate=0.),
    head=dict(predictor=dict(in_channels=1024)))
