# The MaskFeat-target ImageNet data for 14-pixel patches: masking cells of
# 14 pixels (a 16x16 grid at 224), the rest as for patch 16.
_base_ = './imagenet_bs256_semanticmim-maskfeat.py'

train_pipeline = [
    dict(t, mask_patch_size=14, model_patch_size=14)
    if t['type'] == 'SemanticMIMMaskGenerator' else t
    for t in _base_.train_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
