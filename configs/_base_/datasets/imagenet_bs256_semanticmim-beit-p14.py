# The DALL-E-target ImageNet data for 14-pixel patches: masking cells of 14
# pixels (a 16x16 grid at 224) and a 128x128 tokenizer view (16x16 tokens:
# DALL-E downsamples 8x), the rest as for patch 16.
_base_ = './imagenet_bs256_semanticmim-beit.py'

_p14 = dict(
    SemanticMIMMaskGenerator=dict(mask_patch_size=14, model_patch_size=14),
    RandomResizedCropAndInterpolationWithTwoPic=dict(second_size=128))
train_pipeline = [
    dict(t, **_p14.get(t['type'], {})) for t in _base_.train_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
