# SemanticMIM on the MaskFeat instantiation: plain ViT-B/16 layers (qkv bias,
# no layer scale), 8 proxies, HOG target (9 bins, 8-pixel cells, 16-pixel
# gaussian window: 108 values a patch), L2 on the masked patches.
model = dict(
    type='SemanticMIM',
    _scope_='mmsemanticmim',  # builds from mmpretrain's get_model too
    bottleneck=True,
    backbone=dict(
        type='SemanticMIMPretrainViT',
        arch='base',
        img_size=224,
        patch_size=16,
        num_proxy_tokens=8,
        layer_type='vit',
        drop_path_rate=0.,
        final_norm=True),
    # arch, layer type and layer scale follow the backbone's
    neck=dict(type='ProxyReconstructionNeck', drop_path_rate=0.),
    head=dict(
        type='MaskedRegressionHead',
        predictor=dict(
            type='LinearNeck',
            in_channels=768,
            out_channels=108,
            norm_cfg=None,
            init_cfg=dict(
                type='TruncNormal', layer='Linear', std=0.02, bias=0)),
        loss=dict(type='PixelReconstructionLoss', criterion='L2')),
    target_generator=dict(
        type='PatchHOGGenerator',
        nbins=9,
        pool=8,
        gaussian_window=16,
        patch_size=16))
