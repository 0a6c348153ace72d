# ADE20K semantic segmentation with a SemanticMIM-MaskFeat encoder
# (reference recipe): UperNet + auxiliary FCN head (weight 0.4),
# Feature2Pyramid rescales [4, 2, 1, 0.5] from layers (3, 5, 7, 11),
# 640x640, drop path 0.1, AdamW lr 3e-5, wd 0.05, layer decay 0.9 (our
# name-agnostic constructor: mmseg's rejects non-BEiT/MAE backbones),
# 1500 warm-up iterations then poly to 160k, batch 16, slide test 640 /
# stride 426. mmseg's own bases supply model, data and schedule.
#   python tools/train.py THIS --cfg-options \
#       model.backbone.init_cfg.checkpoint=PRETRAIN.pth
_base_ = [
    'mmseg::_base_/models/upernet_mae.py',
    'mmseg::_base_/datasets/ade20k_640x640.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
    '../_base_/semanticmim-maskfeat_vit-base-p16_encoder.py',
    '../_base_/semanticmim_runtime.py',
]
custom_imports = dict(imports=['mmsemanticmim'], allow_failed_imports=False)
crop_size = (640, 640)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        _base_.semanticmim_encoder,
        _delete_=True,
        img_size=crop_size,
        out_indices=(3, 5, 7, 11),
        out_type='featmap'),
    neck=dict(embed_dim=768, rescales=[4, 2, 1, 0.5]),
    decode_head=dict(
        in_channels=[768, 768, 768, 768], channels=768, num_classes=150),
    auxiliary_head=dict(in_channels=768, num_classes=150),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(426, 426)))

optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    optimizer=dict(
        type='AdamW', lr=3e-5, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='mmsemanticmim.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.9, custom_keys=_base_.no_decay_keys))

param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(
        type='PolyLR',
        power=1.0,
        eta_min=0.0,
        by_epoch=False,
        begin=1500,
        end=160000),
]

train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
