# Backbone swapping: mmdet's stock Mask R-CNN R50-FPN 1x from the installed
# package, with only its backbone and neck replaced by a SemanticMIM encoder
# and SimpleFPN. Everything else (heads, data, 1x schedule, SGD) is mmdet's.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmsemanticmim'], allow_failed_imports=False)
custom_hooks = [
    dict(type='mmsemanticmim.BackboneMetaHook'),
    dict(type='mmsemanticmim.SafeCheckpointHook')
]

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmsemanticmim.SemanticMIMViT',
        arch='base',
        img_size=(1024, 1024),
        patch_size=16,
        num_proxy_tokens=8,
        layer_type='vit',
        out_indices=(11, ),
        out_type='featmap',
        final_norm=False,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/semanticmim-maskfeat_vit-base-p16_8xb256-'
            'amp-coslr-300e_in1k/epoch_300.pth',
            prefix='backbone.')),
    neck=dict(
        _delete_=True,
        type='mmsemanticmim.SimpleFPN',
        backbone_channel=768,
        in_channels=[192, 384, 768, 768],
        out_channels=256,
        num_outs=5))
