# Linear probing of a SemanticMIM-MaskFeat encoder (reference recipe): all 12
# layers frozen, mean-pooled patch tokens, AdamW lr 4e-3, wd 1e-4, cosine,
# 100 epochs, batch 1024, random crop + flip only.
_base_ = './vit-base-p16_semanticmim-maskfeat-pre_8xb256-coslr-100e_in1k.py'

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=224,
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs')
]
train_dataloader = dict(batch_size=128, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader

model = dict(
    backbone=dict(frozen_stages=12, drop_path_rate=0.),
    head=dict(
        loss=dict(_delete_=True, type='CrossEntropyLoss'),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=0.02)]),
    train_cfg=dict(_delete_=True))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=4e-3, weight_decay=1e-4, betas=(0.9, 0.999)))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=100,
        by_epoch=True,
        begin=0,
        end=100,
        eta_min=0.,
        convert_to_iter_based=True)
]
auto_scale_lr = dict(base_batch_size=1024)
