# SemanticMIM with the normalised-pixel target at ViT-H/14 (the MaskFeat
# instantiation's ViT-H model, 588 pixel values a 14x14 patch).
_base_ = './semanticmim-maskfeat_vit-huge-p14.py'

model = dict(
    head=dict(predictor=dict(out_channels=14 * 14 * 3)),
    target_generator=dict(
        _delete_=True, type='PatchPixelTarget', patch_size=14, norm_pix=True))
