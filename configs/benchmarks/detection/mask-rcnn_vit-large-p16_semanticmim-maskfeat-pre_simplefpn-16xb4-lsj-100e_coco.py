# COCO Mask R-CNN with a SemanticMIM-MaskFeat ViT-L/16 encoder: the ViT-B
# config at ViTDet's ViT-L recipe (detectron2 projects/ViTDet
# mask_rcnn_vitdet_l_100ep: drop path 0.4, layer decay 0.8 over 24 layers,
# the last layer's stride-16 map into SimpleFPN; global attention in every
# layer here, as for ViT-B).
#   python tools/train.py THIS --cfg-options \
#       model.backbone.init_cfg.checkpoint=PRETRAIN.pth
_base_ = './mask-rcnn_vit-base-p16_semanticmim-maskfeat-pre_simplefpn-16xb4-lsj-100e_coco.py'  # noqa: E501

model = dict(
    backbone=dict(
        arch='large',
        drop_path_rate=0.4,
        out_indices=(23, ),
        init_cfg=dict(
            checkpoint='work_dirs/semanticmim-maskfeat_vit-large-p16_16xb128-'
            'amp-coslr-300e_in1k/epoch_300.pth')),
    neck=dict(backbone_channel=1024, in_channels=[256, 512, 1024, 1024]))

optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.8))
