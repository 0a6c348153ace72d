# DALL-E-target recipe: AdamW lr 1.5e-3 at batch 2048, betas (0.9, 0.999),
# wd 0.05 (none on biases, norms, positions, proxies, mask embedding, layer
# scales), grad clip 3.0, 10 warm-up epochs from 1e-4, cosine to 1e-5, AMP.
optim_wrapper = dict(
    # AMP in the device's format: bf16 on GPUs that have it, else fp16 with
    # a dynamic loss scale; fp32 on the CPU unless tools/train.py --amp
    type='DeviceAmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(
        type='DeviceAdamW', lr=1.5e-3, betas=(0.9, 0.999), weight_decay=0.05),
    clip_grad=dict(max_norm=3.0),
    paramwise_cfg=dict(
        bias_decay_mult=0.,
        norm_decay_mult=0.,
        custom_keys={
            'q_bias': dict(decay_mult=0.),
            'v_bias': dict(decay_mult=0.),
            'pos_embed': dict(decay_mult=0.),
            'proxy_tokens': dict(decay_mult=0.),
            'mask_token': dict(decay_mult=0.),
            'gamma': dict(decay_mult=0.),
        }))

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=10,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-5,
        by_epoch=True,
        begin=10,
        end=300,
        convert_to_iter_based=True),
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=300)
auto_scale_lr = dict(base_batch_size=2048)
