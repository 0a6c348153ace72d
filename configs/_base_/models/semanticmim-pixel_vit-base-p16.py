# SemanticMIM with a third target, beyond the reference code's two: the
# normalised pixels of each masked patch (MAE's norm_pix; SimMIM-style
# regression on masked patches), plain ViT-B/16 layers, 8 proxies, L2.
_base_ = './semanticmim-maskfeat_vit-base-p16.py'

model = dict(
    head=dict(predictor=dict(out_channels=16 * 16 * 3)),
    target_generator=dict(
        _delete_=True, type='PatchPixelTarget', patch_size=16, norm_pix=True))
