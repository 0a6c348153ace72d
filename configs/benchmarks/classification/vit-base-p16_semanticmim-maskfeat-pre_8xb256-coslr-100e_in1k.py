# ImageNet-1K fine-tuning of a SemanticMIM-MaskFeat encoder (reference
# recipe): 100 epochs (20 warm-up), AdamW lr 8e-3 at batch 2048, layer decay
# 0.65, drop path 0.1, RandAugment(2, 9), RandomErasing 0.25, Mixup 0.8 /
# CutMix 1.0, label smoothing 0.1; features: mean of the patch tokens (the
# proxies are left out) then a norm. mmpretrain's MAE fine-tuning config
# supplies data, augmentation and runtime.
#   python tools/train.py THIS --cfg-options \
#       model.backbone.init_cfg.checkpoint=PRETRAIN.pth
_base_ = [
    'mmpretrain::mae/benchmarks/vit-base-p16_8xb128-coslr-100e_in1k.py',
    '../_base_/semanticmim-maskfeat_vit-base-p16_encoder.py',
    '../_base_/semanticmim_runtime.py',
]
default_scope = 'mmsemanticmim'
custom_imports = dict(imports=['mmsemanticmim'], allow_failed_imports=False)
train_dataloader = dict(batch_size=256)
val_dataloader = dict(batch_size=256)
test_dataloader = val_dataloader

# The model dict inherits _scope_='mmpretrain' from mmpretrain's base, so
# our backbone is named with its scope.
model = dict(
    backbone=dict(
        _base_.semanticmim_encoder,
        _delete_=True,
        img_size=224,
        out_type='avg_featmap'))

optim_wrapper = dict(
    optimizer=dict(lr=8e-3),
    paramwise_cfg=dict(
        layer_decay_rate=0.65,
        custom_keys={
            '.proxy_tokens': dict(decay_mult=0.0),
            '.pos_embed': dict(decay_mult=0.0)
        }))

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=20,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=80,
        by_epoch=True,
        begin=20,
        end=100,
        eta_min=1e-6,
        convert_to_iter_based=True)
]
auto_scale_lr = dict(base_batch_size=2048)
