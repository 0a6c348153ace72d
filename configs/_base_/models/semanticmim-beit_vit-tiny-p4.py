# A tiny SemanticMIM-BEiT for CPU: BEiT layers of width 96, 32x32 inputs,
# 4-pixel patches, 1 proxy, and a small randomly initialised DALL-E-style
# tokenizer (mmpretrain's DALL-E encoder, 32 hidden channels, 512 codes) on
# the 64 view: a real tokenizer cannot be downloaded here.
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
        num_proxy_tokens=1,
        layer_type='beit',
        layer_scale_init_value=0.1,
        drop_path_rate=0.1),
    # arch, layer type and layer scale follow the backbone's
    neck=dict(type='ProxyReconstructionNeck', drop_path_rate=0.1),
    head=dict(
        type='MaskedTokenClsHead',
        embed_dims=96,
        num_embed=512,
        loss=dict(type='CrossEntropyLoss')),
    target_generator=dict(
        type='DALL-E', n_hid=32, n_blk_per_group=1, vocab_size=512))
