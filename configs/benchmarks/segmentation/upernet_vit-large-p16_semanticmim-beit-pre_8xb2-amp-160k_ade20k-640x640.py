# ADE20K with a SemanticMIM-BEiT ViT-L/16 encoder: BEiT layers (layer
# scale as pre-trained at ViT-L, 1e-5), 1 proxy.
_base_ = './upernet_vit-large-p16_semanticmim-maskfeat-pre_8xb2-amp-160k_ade20k-640x640.py'  # noqa: E501

model = dict(
    backbone=dict(
        num_proxy_tokens=1,
        layer_type='beit',
        layer_scale_init_value=1e-5,
        init_cfg=dict(
            checkpoint='work_dirs/semanticmim-beit_vit-large-p16_16xb128-amp-'
            'coslr-300e_in1k/epoch_300.pth')))
