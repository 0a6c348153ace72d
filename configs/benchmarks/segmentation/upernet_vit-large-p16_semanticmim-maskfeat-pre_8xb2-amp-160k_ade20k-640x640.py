# ADE20K with a SemanticMIM-MaskFeat ViT-L/16 encoder: the ViT-B config at
# the ViT-L recipe of BEiT-L in mmseg / microsoft/unilm
# (upernet_beit_large_24_640_slide_160k_ade20k): features of layers
# (7, 11, 15, 23), width 1024, drop path 0.2, AdamW lr 2e-5, layer decay
# 0.95 over 24 layers, 3000 warm-up iterations, batch 16.
#   python tools/train.py THIS --cfg-options \
#       model.backbone.init_cfg.checkpoint=PRETRAIN.pth
_base_ = './upernet_vit-base-p16_semanticmim-maskfeat-pre_8xb2-amp-160k_ade20k-640x640.py'  # noqa: E501

model = dict(
    backbone=dict(
        arch='large',
        drop_path_rate=0.2,
        out_indices=(7, 11, 15, 23),
        init_cfg=dict(
            checkpoint='work_dirs/semanticmim-maskfeat_vit-large-p16_16xb128-'
            'amp-coslr-300e_in1k/epoch_300.pth')),
    neck=dict(embed_dim=1024),
    decode_head=dict(in_channels=[1024, 1024, 1024, 1024], channels=1024),
    auxiliary_head=dict(in_channels=1024))

optim_wrapper = dict(
    optimizer=dict(lr=2e-5), paramwise_cfg=dict(layer_decay_rate=0.95))

param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=3000),
    dict(
        type='PolyLR',
        power=1.0,
        eta_min=0.0,
        by_epoch=False,
        begin=3000,
        end=160000),
]
