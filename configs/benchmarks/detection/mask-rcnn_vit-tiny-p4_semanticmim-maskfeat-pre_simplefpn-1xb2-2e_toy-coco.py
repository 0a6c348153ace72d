# Toy-size COCO-format Mask R-CNN for CPU (tests, smoke runs): the ViTDet
# recipe's detector with the tiny pre-training encoder (4x96, patch 4: a
# stride-4 map, so SimpleFPN gives strides 1-16 and anchors / RoI strides
# follow) at 64x64, on a COCO-format folder given as data_root
# (annotations/train.json, annotations/val.json, images/*.png).
_base_ = './mask-rcnn_vit-base-p16_semanticmim-maskfeat-pre_simplefpn-16xb4-lsj-100e_coco.py'  # noqa: E501

image_size = (64, 64)
data_root = 'data/toy_coco/'
metainfo = dict(classes=('square', 'disc'))
strides = [1, 2, 4, 8, 16]
model = dict(
    data_preprocessor=dict(
        batch_augments=[dict(type='BatchFixedSizePad', size=image_size)]),
    backbone=dict(
        arch=dict(
            _delete_=True,
            embed_dims=96,
            num_layers=4,
            num_heads=3,
            feedforward_channels=384),
        img_size=image_size,
        patch_size=4,
        out_indices=(3, ),
        # the tiny pre-training config's encoder (a checkpoint that differs
        # is refused, naming the value to set)
        num_proxy_tokens=4,
        layer_type='vit',
        layer_scale_init_value=0.,
        # the pre-trained weights: --pretrained PATH (tools/train.py) or
        # --cfg-options model.backbone.init_cfg.checkpoint=PATH
        init_cfg=dict(checkpoint=None)),
    neck=dict(
        backbone_channel=96, in_channels=[24, 48, 96, 96], out_channels=32),
    rpn_head=dict(
        in_channels=32,
        feat_channels=32,
        anchor_generator=dict(scales=[8], strides=strides)),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=32, featmap_strides=strides[:4]),
        bbox_head=dict(
            in_channels=32,
            conv_out_channels=32,
            fc_out_channels=64,
            num_classes=2),
        mask_roi_extractor=dict(out_channels=32, featmap_strides=strides[:4]),
        mask_head=dict(in_channels=32, conv_out_channels=32, num_classes=2)),
    train_cfg=dict(
        rpn=dict(sampler=dict(num=64)),
        rpn_proposal=dict(nms_pre=200, max_per_img=100),
        rcnn=dict(sampler=dict(num=32))),
    test_cfg=dict(
        rpn=dict(nms_pre=200, max_per_img=100), rcnn=dict(max_per_img=20)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='RandomResize',
        scale=image_size,
        ratio_range=(0.8, 1.25),
        keep_ratio=True),
    dict(
        type='RandomCrop',
        crop_type='absolute_range',
        crop_size=image_size,
        recompute_bbox=True,
        allow_negative_crop=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
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
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        type='CocoDataset',
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/train.json',
        data_prefix=dict(img='images/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=4),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        type='CocoDataset',
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/val.json',
        data_prefix=dict(img='images/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/val.json')
test_evaluator = val_evaluator

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(lr=1e-4))
param_scheduler = [dict(type='ConstantLR', factor=1.0)]
train_cfg = dict(max_epochs=2, val_interval=2)
default_hooks = dict(logger=dict(interval=1))
auto_scale_lr = dict(base_batch_size=2)
