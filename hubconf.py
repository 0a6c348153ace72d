"""torch.hub entry points: the SemanticMIM encoder (``SemanticMIMViT``).

    encoder = torch.hub.load(REPO_DIR, 'semanticmim_vit_base_p16',
                             source='local', checkpoint='PRETRAIN.pth')

``checkpoint`` (a file or URL of ours: pre-training, extracted or
fine-tuned) is read weights-only; its recorded proxy count and layer flavour
build the encoder, which must have the entry's width, depth and patch size.
Without one the encoder is randomly initialised with the entry's
architecture (``num_proxy_tokens``, ``layer_type`` etc. as keyword
arguments). Other keyword arguments (``out_type``, ``img_size``, ...) go to
``SemanticMIMViT``.
"""
dependencies = [
    'torch', 'torchvision', 'mmengine', 'mmcv', 'mmpretrain', 'mmseg', 'mmdet'
]


def _encoder(arch: str, patch_size: int, checkpoint=None, **kwargs):
    from mmsemanticmim.models import SemanticMIMViT
    if checkpoint is None:
        encoder = SemanticMIMViT(arch=arch, patch_size=patch_size, **kwargs)
        encoder.init_weights()
        return encoder
    encoder = SemanticMIMViT.from_checkpoint(checkpoint, **kwargs)
    expected = SemanticMIMViT.arch_zoo[arch]
    got = dict(
        embed_dims=encoder.embed_dims,
        num_layers=encoder.num_layers,
        patch_size=encoder.patch_size)
    want = dict(
        embed_dims=expected['embed_dims'],
        num_layers=expected['num_layers'],
        patch_size=patch_size)
    if got != want:
        raise ValueError(f'{checkpoint} holds an encoder of {got}, not the '
                         f'{want} of this entry: use the entry of its size.')
    return encoder


def semanticmim_vit_base_p16(checkpoint=None, **kwargs):
    """ViT-B/16 SemanticMIM encoder (86M parameters)."""
    return _encoder('base', 16, checkpoint, **kwargs)


def semanticmim_vit_large_p16(checkpoint=None, **kwargs):
    """ViT-L/16 SemanticMIM encoder (304M parameters)."""
    return _encoder('large', 16, checkpoint, **kwargs)


def semanticmim_vit_huge_p14(checkpoint=None, **kwargs):
    """ViT-H/14 SemanticMIM encoder (632M parameters)."""
    return _encoder('huge', 14, checkpoint, **kwargs)
