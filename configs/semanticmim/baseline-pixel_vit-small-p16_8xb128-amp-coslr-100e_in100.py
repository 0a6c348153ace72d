# GPU study preset, MIM baseline arm, normalised-pixel target: no
# bottleneck, mask ratio 0.4.
_base_ = './semanticmim-pixel_vit-small-p16_8xb128-amp-coslr-100e_in100.py'

model = dict(bottleneck=False, neck=None)

train_pipeline = _base_.train_pipeline
assert train_pipeline[3].type == 'SemanticMIMMaskGenerator'
train_pipeline[3].mask_ratio = 0.4
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
