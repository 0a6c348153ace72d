# A tiny SemanticMIM-MaskFeat for CPU: 4 layers of width 96, 32x32 inputs,
# 4-pixel patches (8x8 grid), 4 proxies, HOG with 4-pixel cells (27 values a
# patch).
_tiny = dict(
    embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=384)
model = dict(
    type='SemanticMIM',
    _scope_='mmsemanticmim',  # builds from mmpretrain's get_model too
    bottleneck=True,
    backbone=dict(
        type='SemanticMIMPretrainViT',
        arch=_tiny,
        img_size=32,
        patch_size=4,
        num_proxy_tokens=4,
        layer_type='vit'),
    # arch, layer type and layer scale follow the backbone's
    neck=dict(type='ProxyReconstructionNeck'),
    head=dict(
        type='MaskedRegressionHead',
        predictor=dict(
            type='LinearNeck',
            in_channels=96,
            out_channels=27,
            norm_cfg=None,
            init_cfg=dict(
                type='TruncNormal', layer='Linear', std=0.02, bias=0)),
        loss=dict(type='PixelReconstructionLoss', criterion='L2')),
    target_generator=dict(
        type='PatchHOGGenerator',
        nbins=9,
        pool=4,
        gaussian_window=8,
        patch_size=4))
