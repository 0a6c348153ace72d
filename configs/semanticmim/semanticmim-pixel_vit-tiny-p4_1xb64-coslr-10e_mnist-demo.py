# Tiny CPU config of the normalised-pixel target on the embedded digits.
_base_ = './semanticmim-maskfeat_vit-tiny-p4_1xb64-coslr-10e_mnist-demo.py'

model = dict(
    head=dict(predictor=dict(out_channels=4 * 4 * 3)),
    target_generator=dict(
        _delete_=True, type='PatchPixelTarget', patch_size=4, norm_pix=True))
