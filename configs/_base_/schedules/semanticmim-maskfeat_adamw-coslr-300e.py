# MaskFeat-target recipe: AdamW lr 1.6e-3 at batch 2048, wd 0.05, grad clip
# 0.02, 30 warm-up epochs from 1e-6, cosine to 1e-6, 300 epochs, AMP.
optim_wrapper = dict(
    # AMP in the device's format: bf16 on GPUs that have it, else fp16 with
    # a dynamic loss scale; fp32 on the CPU unless tools/train.py --amp
    type='DeviceAmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(
        type='DeviceAdamW', lr=1.6e-3, betas=(0.9, 0.999), weight_decay=0.05),
    clip_grad=dict(max_norm=0.02),
    paramwise_cfg=dict(
        bias_decay_mult=0.,
        norm_decay_mult=0.,
        custom_keys={'mask_token': dict(decay_mult=0.)}))

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-6,
        by_epoch=True,
        begin=0,
        end=30,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=270,
        eta_min=1e-6,
        by_epoch=True,
        begin=30,
        end=300,
        convert_to_iter_based=True),
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=300)
auto_scale_lr = dict(base_batch_size=2048)
