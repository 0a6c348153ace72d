# The pre-trained SemanticMIM-MaskFeat ViT-B/16 encoder as a downstream
# backbone, shared by the classification, segmentation and detection configs
# (the type carries its scope, so any toolbox's config can name it). A config
# takes it as `backbone=dict(_base_.semanticmim_encoder, _delete_=True,
# img_size=..., out_type=..., ...)` and sets the checkpoint with
# `--cfg-options model.backbone.init_cfg.checkpoint=PRETRAIN.pth`.
semanticmim_encoder = dict(
    type='mmsemanticmim.SemanticMIMViT',
    arch='base',
    patch_size=16,
    num_proxy_tokens=8,  # None: read it from the checkpoint
    layer_type='vit',
    final_norm=False,
    drop_path_rate=0.1,
    init_cfg=dict(
        type='Pretrained',
        checkpoint='work_dirs/semanticmim-maskfeat_vit-base-p16_8xb256-amp-'
        'coslr-300e_in1k/epoch_300.pth',
        prefix='backbone.'))

# Parameters without weight decay in the AdamW downstream recipes.
no_decay_keys = {
    '.ln': dict(decay_mult=0.0),
    '.bias': dict(decay_mult=0.0),
    '.proxy_tokens': dict(decay_mult=0.0),
    '.pos_embed': dict(decay_mult=0.0),
    '.gamma': dict(decay_mult=0.0),
}
