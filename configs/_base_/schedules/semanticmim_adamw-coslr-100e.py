# The GPU study preset's short schedule: the MaskFeat-target recipe (AdamW,
# wd 0.05, clip 0.02, fused, device AMP) at batch 1024 with its lr scaled
# linearly (1.6e-3 x 1024 / 2048 = 8e-4), 100 epochs with 10 warm-up
# epochs (the recipe's 1:10 warm-up share), cosine to 1e-6.
_base_ = './semanticmim-maskfeat_adamw-coslr-300e.py'

optim_wrapper = dict(optimizer=dict(lr=8e-4))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-6,
        by_epoch=True,
        begin=0,
        end=10,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=90,
        eta_min=1e-6,
        by_epoch=True,
        begin=10,
        end=100,
        convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100)
auto_scale_lr = dict(base_batch_size=1024)
