# The demo digits for the DALL-E-style target: a 32 view for the encoder and
# a 64 view for the (small, randomly initialised) tokenizer, whose 8x8 grid
# matches the 8x8 patch grid.
_base_ = './mnist-demo_bs64_semanticmim-maskfeat.py'

data_preprocessor = dict(
    _delete_=True,
    type='TwoNormDataPreprocessor',
    mean=[33.3, 33.3, 33.3],
    std=[78.6, 78.6, 78.6],
    second_mean=[-31.875, -31.875, -31.875],
    second_std=[318.75, 318.75, 318.75],
    to_rgb=True)

train_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(
        type='RandomResizedCropAndInterpolationWithTwoPic',
        size=32,
        second_size=64,
        interpolation='bicubic',
        second_interpolation='lanczos',
        scale=(0.6, 1.0)),
    dict(
        type='SemanticMIMMaskGenerator',
        input_size=32,
        mask_patch_size=4,
        model_patch_size=4,
        mask_ratio=0.6),
    dict(type='PackInputs', algorithm_keys=['mask']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
