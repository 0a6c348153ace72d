# The MIM baseline of the pixel target (SimMIM / MAE-style regression with
# mask tokens in the encoder): no bottleneck, mask ratio 0.4.
_base_ = './semanticmim-pixel_vit-base-p16_8xb256-amp-coslr-300e_in1k.py'

model = dict(bottleneck=False, neck=None)

train_pipeline = _base_.train_pipeline
assert train_pipeline[3].type == 'SemanticMIMMaskGenerator'
train_pipeline[3].mask_ratio = 0.4
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
