# Toy-size ADE20K-format segmentation for CPU (tests, smoke runs): the full
# recipe's UperNet with the tiny pre-training encoder (4x96, patch 4, 4
# proxies; positions resized from
# its 8x8 grid to 16x16) on 64x64 crops of an ADE20K-layout folder given as
# data_root (images/{training,validation}/*.jpg,
# annotations/{training,validation}/*.png).
_base_ = './upernet_vit-base-p16_semanticmim-maskfeat-pre_8xb2-amp-160k_ade20k-640x640.py'  # noqa: E501

crop_size = (64, 64)
data_root = 'data/toy_ade'
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        arch=dict(
            _delete_=True,
            embed_dims=96,
            num_layers=4,
            num_heads=3,
            feedforward_channels=384),
        img_size=crop_size,
        patch_size=4,
        out_indices=(0, 1, 2, 3),
        # the tiny pre-training config's encoder (a checkpoint that differs
        # is refused, naming the value to set)
        num_proxy_tokens=4,
        layer_type='vit',
        layer_scale_init_value=0.,
        # the pre-trained weights: --pretrained PATH (tools/train.py) or
        # --cfg-options model.backbone.init_cfg.checkpoint=PATH
        init_cfg=dict(checkpoint=None)),
    neck=dict(embed_dim=96),
    decode_head=dict(
        in_channels=[96] * 4,
        channels=32,
        pool_scales=(1, 2),
        norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=96, channels=32, norm_cfg=norm_cfg),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(43, 43)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(
        type='RandomResize',
        scale=(256, 64),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(256, 64), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(lr=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=10),
    dict(
        type='PolyLR',
        power=1.0,
        eta_min=0.0,
        by_epoch=False,
        begin=10,
        end=2000),
]
train_cfg = dict(max_iters=2000, val_interval=1000)
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=1000),
    visualization=dict(draw=False))
