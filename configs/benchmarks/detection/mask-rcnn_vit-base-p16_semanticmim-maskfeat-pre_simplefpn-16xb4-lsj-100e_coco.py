# COCO detection and instance segmentation with a SemanticMIM-MaskFeat
# encoder, ViTDet style (the reference code has no COCO transfer): Mask R-CNN,
# SimpleFPN from the stride-16 map with LayerNorm in the FPN and heads
# (4conv1fc box head, 2-conv RPN), large-scale jitter at 1024, AdamW 1e-4,
# wd 0.1, layer decay 0.7, drop path 0.1, 100 epochs at batch 64. mmdet's own
# bases supply the detector and the LSJ data/schedule.
#   python tools/train.py THIS --cfg-options \
#       model.backbone.init_cfg.checkpoint=PRETRAIN.pth
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::common/lsj-100e_coco-instance.py',
    '../_base_/semanticmim-maskfeat_vit-base-p16_encoder.py',
    '../_base_/semanticmim_runtime.py',
]
custom_imports = dict(imports=['mmsemanticmim'], allow_failed_imports=False)
image_size = (1024, 1024)
norm_cfg = dict(type='mmpretrain.LN2d', requires_grad=True)
model = dict(
    data_preprocessor=dict(
        pad_size_divisor=32,
        batch_augments=[dict(type='BatchFixedSizePad', size=image_size)]),
    backbone=dict(
        _base_.semanticmim_encoder,
        _delete_=True,
        img_size=image_size,
        out_indices=(11, ),
        out_type='featmap',
        with_cp=False),
    neck=dict(
        _delete_=True,
        type='mmsemanticmim.SimpleFPN',
        backbone_channel=768,
        in_channels=[192, 384, 768, 768],
        out_channels=256,
        num_outs=5,
        norm_cfg=norm_cfg),
    rpn_head=dict(num_convs=2),
    roi_head=dict(
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead',
            conv_out_channels=256,
            norm_cfg=norm_cfg),
        mask_head=dict(norm_cfg=norm_cfg)))

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='Pad', size=image_size, pad_val=dict(img=(114, 114, 114))),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(batch_size=4, num_workers=8)
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1),
    constructor='mmsemanticmim.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.7, custom_keys=_base_.no_decay_keys))
auto_scale_lr = dict(base_batch_size=64)
