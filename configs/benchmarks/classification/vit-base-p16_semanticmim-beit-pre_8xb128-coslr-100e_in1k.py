# ImageNet-1K fine-tuning of a SemanticMIM-BEiT encoder: as the MaskFeat one
# but BEiT layers (q/v bias, layer scale), 1 proxy, lr 4e-3 at batch 1024.
_base_ = './vit-base-p16_semanticmim-maskfeat-pre_8xb256-coslr-100e_in1k.py'

train_dataloader = dict(batch_size=128)
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader

model = dict(
    backbone=dict(
        num_proxy_tokens=1,
        layer_type='beit',
        layer_scale_init_value=0.1,
        init_cfg=dict(
            checkpoint='work_dirs/semanticmim-beit_vit-base-p16_8xb256-amp-'
            'coslr-300e_in1k/epoch_300.pth')))

optim_wrapper = dict(
    optimizer=dict(lr=4e-3),
    paramwise_cfg=dict(
        custom_keys={
            '.gamma': dict(decay_mult=0.0),
            'q_bias': dict(decay_mult=0.0),
            'v_bias': dict(decay_mult=0.0)
        }))
auto_scale_lr = dict(base_batch_size=1024)
