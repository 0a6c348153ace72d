# ADE20K with a SemanticMIM-BEiT encoder: BEiT layers, 1 proxy.
_base_ = './upernet_vit-base-p16_semanticmim-maskfeat-pre_8xb2-amp-160k_ade20k-640x640.py'  # noqa: E501

model = dict(
    backbone=dict(
        num_proxy_tokens=1,
        layer_type='beit',
        layer_scale_init_value=0.1,
        init_cfg=dict(
            checkpoint='work_dirs/semanticmim-beit_vit-base-p16_8xb256-amp-'
            'coslr-300e_in1k/epoch_300.pth')))
