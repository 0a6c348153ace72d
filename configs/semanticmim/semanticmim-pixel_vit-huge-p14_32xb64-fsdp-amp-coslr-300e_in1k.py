# SemanticMIM-pixel-target ViT-H/14: sharded (FSDP, one unit per transformer
# layer) and activation-checkpointed by default, 32 GPUs x 64 = 2048, the
# ViT-B recipe's global batch and lr (auto_scale_lr rescales it for another
# batch with --auto-scale-lr).
_base_ = [
    '../_base_/models/semanticmim-pixel_vit-huge-p14.py',
    '../_base_/datasets/imagenet_bs256_semanticmim-maskfeat-p14.py',
    '../_base_/schedules/semanticmim-maskfeat_adamw-coslr-300e.py',
    '../_base_/fsdp_runtime.py',  # our default runtime, sharded
]
train_dataloader = dict(batch_size=64)
# AMP under FSDP: the loss scaler must see every shard.
optim_wrapper = dict(use_fsdp=True)
