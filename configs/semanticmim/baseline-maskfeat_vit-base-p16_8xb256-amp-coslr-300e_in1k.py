# The MIM baseline of the MaskFeat instantiation (plain MaskFeat with mask
# tokens and absolute positions): no bottleneck, one self-attention over
# [PROXY; visible; MASK]; mask ratio 0.4.
_base_ = './semanticmim-maskfeat_vit-base-p16_8xb256-amp-coslr-300e_in1k.py'

model = dict(bottleneck=False, neck=None)

train_pipeline = _base_.train_pipeline
assert train_pipeline[3].type == 'SemanticMIMMaskGenerator'
train_pipeline[3].mask_ratio = 0.4
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
