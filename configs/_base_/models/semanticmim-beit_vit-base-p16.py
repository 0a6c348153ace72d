# SemanticMIM on the BEiT instantiation: BEiT layers (q/v bias, layer scale
# 0.1, depth-rescaled init, absolute positions only, no relative position
# bias), 1 proxy, DALL-E tokens (8192 codes) of the 112 view, cross-entropy.
model = dict(
    type='SemanticMIM',
    _scope_='mmsemanticmim',  # builds from mmpretrain's get_model too
    bottleneck=True,
    backbone=dict(
        type='SemanticMIMPretrainViT',
        arch='base',
        img_size=224,
        patch_size=16,
        num_proxy_tokens=1,
        layer_type='beit',
        layer_scale_init_value=0.1,
        drop_path_rate=0.1,
        final_norm=True),
    # arch, layer type and layer scale follow the backbone's
    neck=dict(type='ProxyReconstructionNeck', drop_path_rate=0.1),
    head=dict(
        type='MaskedTokenClsHead',
        embed_dims=768,
        num_embed=8192,
        loss=dict(type='CrossEntropyLoss')),
    target_generator=dict(
        type='DALL-E',
        init_cfg=dict(
            type='Pretrained',
            checkpoint=  # noqa: E251
            'https://download.openmmlab.com/mmselfsup/1.x/target_generator_ckpt/dalle_encoder.pth',  # noqa: E501
        )))
