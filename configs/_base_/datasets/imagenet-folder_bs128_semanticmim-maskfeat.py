# An ImageNet-format class folder (DATA/train/<class>/*.JPEG, e.g.
# ImageNet-100) for the GPU study preset: the MaskFeat-target ImageNet
# pipeline (one 224 view, RandomResizedCrop (0.5, 1) bicubic, flip, mask
# 0.8), read by mmpretrain's CustomDataset, so no annotation file is needed;
# 128 images per GPU.
_base_ = './imagenet_bs256_semanticmim-maskfeat.py'

data_root = 'data/imagenet100'
train_dataloader = dict(
    batch_size=128,
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        data_prefix='train',
        pipeline={{_base_.train_pipeline}}))
