# Backbone swapping: mmdet's stock Mask R-CNN R50-FPN 1x from the installed
# package, with only its backbone and neck replaced by a SemanticMIM encoder
# and SimpleFPN. Everything else (heads, data, 1x schedule, SGD) is mmdet's.
_base_ = [
    'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
    '../_base_/semanticmim-maskfeat_vit-base-p16_encoder.py',
    '../_base_/semanticmim_runtime.py',
]
custom_imports = dict(imports=['mmsemanticmim'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _base_.semanticmim_encoder,
        _delete_=True,
        img_size=(1024, 1024),
        out_indices=(11, ),
        out_type='featmap'),
    neck=dict(
        _delete_=True,
        type='mmsemanticmim.SimpleFPN',
        backbone_channel=768,
        in_channels=[192, 384, 768, 768],
        out_channels=256,
        num_outs=5))
