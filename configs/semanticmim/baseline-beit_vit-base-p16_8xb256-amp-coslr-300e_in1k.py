# The MIM baseline of the BEiT instantiation (BEiT v1 with absolute positions,
# no relative position bias): no bottleneck, one self-attention over
# [PROXY; visible; MASK]; mask ratio 0.4.
_base_ = './semanticmim-beit_vit-base-p16_8xb256-amp-coslr-300e_in1k.py'

model = dict(bottleneck=False, neck=None)

train_pipeline = _base_.train_pipeline
assert train_pipeline[4].type == 'SemanticMIMMaskGenerator'
train_pipeline[4].mask_ratio = 0.4
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
