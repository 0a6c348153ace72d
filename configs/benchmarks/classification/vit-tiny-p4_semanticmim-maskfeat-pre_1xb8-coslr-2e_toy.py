# Toy-size fine-tuning for CPU (tests, smoke runs): the full recipe's model
# with the tiny pre-training encoder (4x96, patch 4, 32 px, 4 proxies)
# on an image folder given as
# data_root (CustomDataset layout: train/<class>/*, val/<class>/*).
_base_ = './vit-base-p16_semanticmim-maskfeat-pre_8xb256-coslr-100e_in1k.py'

data_root = 'data/toy_cls'
data_preprocessor = dict(num_classes=2)
train_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=32,
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs')
]
test_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(type='Resize', scale=32),
    dict(type='PackInputs')
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        data_prefix='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        data_prefix='val',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,
            embed_dims=96,
            num_layers=4,
            num_heads=3,
            feedforward_channels=384),
        img_size=32,
        patch_size=4,
        # the tiny pre-training config's encoder (a checkpoint that differs
        # is refused, naming the value to set)
        num_proxy_tokens=4,
        layer_type='vit',
        layer_scale_init_value=0.,
        # the pre-trained weights: --pretrained PATH (tools/train.py) or
        # --cfg-options model.backbone.init_cfg.checkpoint=PATH
        init_cfg=dict(checkpoint=None)),
    head=dict(num_classes=2, in_channels=96),
    train_cfg=dict(_delete_=True))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=2,
        by_epoch=True,
        begin=0,
        end=2,
        eta_min=1e-6,
        convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=2)
default_hooks = dict(logger=dict(interval=1))
auto_scale_lr = dict(base_batch_size=8)
