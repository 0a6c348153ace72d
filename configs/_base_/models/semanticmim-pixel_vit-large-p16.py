# SemanticMIM with the normalised-pixel target at ViT-L/16 (the MaskFeat
# instantiation's ViT-L model, 768 pixel values a patch).
_base_ = './semanticmim-maskfeat_vit-large-p16.py'

model = dict(
    head=dict(predictor=dict(out_channels=16 * 16 * 3)),
    target_generator=dict(
        _delete_=True, type='PatchPixelTarget', patch_size=16, norm_pix=True))
