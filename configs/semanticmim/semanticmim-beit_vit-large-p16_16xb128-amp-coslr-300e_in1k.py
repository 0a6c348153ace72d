# SemanticMIM-BEiT ViT-L/16: the ViT-B recipe at the same global batch
# (16 GPUs x 128 = 2048, so the same lr; auto_scale_lr rescales it for
# another batch with --auto-scale-lr). For memory, add --fsdp or
# --cfg-options model.with_cp=True (see docs/pretraining.md, scale-out).
_base_ = [
    '../_base_/models/semanticmim-beit_vit-large-p16.py',
    '../_base_/datasets/imagenet_bs256_semanticmim-beit.py',
    '../_base_/schedules/semanticmim-beit_adamw-coslr-300e.py',
    '../_base_/default_runtime.py',
]
train_dataloader = dict(batch_size=128)
