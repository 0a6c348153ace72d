# ImageNet-1K for DALL-E-target pre-training (reference recipe): ColorJitter,
# flip, RandomResizedCrop 224 (scale 0.08-1) plus a 112 view for the
# tokenizer, normalised to DALL-E's [0.1, 0.9] range; mask ratio 0.6.
_base_ = './imagenet_bs256_semanticmim-maskfeat.py'

data_preprocessor = dict(
    _delete_=True,
    type='TwoNormDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    second_mean=[-31.875, -31.875, -31.875],
    second_std=[318.75, 318.75, 318.75],
    to_rgb=True)

train_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(
        type='ColorJitter',
        brightness=0.4,
        contrast=0.4,
        saturation=0.4,
        hue=0.),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='RandomResizedCropAndInterpolationWithTwoPic',
        size=224,
        second_size=112,
        interpolation='bicubic',
        second_interpolation='lanczos',
        scale=(0.08, 1.0)),
    dict(
        type='SemanticMIMMaskGenerator',
        input_size=224,
        mask_patch_size=16,
        model_patch_size=16,
        mask_ratio=0.6),
    dict(type='PackInputs', algorithm_keys=['mask']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
