# Tiny CPU config of the maskfeat-target MIM baseline (no bottleneck, mask
# 0.4).
_base_ = './semanticmim-maskfeat_vit-tiny-p4_1xb64-coslr-10e_mnist-demo.py'

model = dict(bottleneck=False, neck=None)

train_pipeline = _base_.train_pipeline
assert train_pipeline[2].type == 'SemanticMIMMaskGenerator'
train_pipeline[2].mask_ratio = 0.4
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
