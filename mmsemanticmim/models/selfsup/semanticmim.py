"""The SemanticMIM algorithm (arXiv 2406.10673)."""
from typing import Dict, List, Optional, Union

import torch
from mmpretrain.models.selfsup import BaseSelfSupervisor
from mmpretrain.structures import DataSample

from mmsemanticmim.registry import MODELS
from ..utils import in_fp32

#: Settings of the reconstruction stack that follow the encoder's.
NECK_FROM_BACKBONE = ('arch', 'layer_type', 'layer_scale_init_value')


def neck_settings(neck: dict, backbone) -> dict:
    """``neck`` with what it leaves out (or None) taken from the built
    ``backbone``: the stack has one layer per encoder layer at its width.

    Raises:
        ValueError: A given ``arch`` differs from the encoder's in width or
            depth (the stack could not read the proxy states).
    """
    neck = dict(neck)
    own = dict(
        arch=getattr(backbone, 'arch_settings', None),
        layer_type=getattr(backbone, 'layer_type', None),
        layer_scale_init_value=getattr(backbone, 'layer_scale_init_value',
                                       None))
    for key in NECK_FROM_BACKBONE:
        if neck.get(key) is None and own[key] is not None:
            neck[key] = own[key]
    if own['arch'] is not None and neck.get('arch') is not None:
        from ..utils import parse_arch
        given = parse_arch(neck['arch'])
        for key in ('embed_dims', 'num_layers'):
            if given[key] != own['arch'][key]:
                raise ValueError(
                    f'model.neck.arch has {key}={given[key]} but the backbone '
                    f"has {own['arch'][key]}: the reconstruction stack needs "
                    "one layer per encoder layer at the encoder's width; "
                    'leave model.neck.arch out to use the backbone\'s.')
    return neck


@MODELS.register_module()
class SemanticMIM(BaseSelfSupervisor):
    """Masked image modeling through a [PROXY] bottleneck.

    The encoder sees [PROXY] + visible patches; the reconstruction stack
    (the neck) rebuilds the masked patches from the per-layer proxy states
    alone; the head scores them against the target generator's output on the
    whole grid. ``bottleneck=False`` is the MIM baseline (BEiT / MaskFeat with
    mask tokens in the encoder): no neck, one joint self-attention over
    [PROXY; visible; MASK].

    As in the authors' code, the predicted tokens go through the encoder's
    final norm (``backbone.ln1``) in both modes: that norm is shared, not
    duplicated in the neck.

    Args:
        backbone (dict): A :class:`SemanticMIMPretrainViT` config.
        neck (dict, optional): The reconstruction stack; required with the
            bottleneck, forbidden without. Its ``arch``, ``layer_type`` and
            ``layer_scale_init_value`` default to the backbone's.
        head (dict): Prediction head with ``loss(feats, target, pred_index)``.
        target_generator (dict, optional): Builds per-patch targets from the
            target view (DALL-E tokens, HOG); None regresses the target view
            itself (handled by the head).
        bottleneck (bool): SemanticMIM (True) or the baseline (False).
        with_cp (bool, optional): Activation checkpointing of every layer of
            both stacks (sets ``with_cp`` of the backbone and the neck): one
            key for the whole model. None leaves each as configured.
        data_preprocessor (dict, optional): ``SelfSupDataPreprocessor``, or
            ``TwoNormDataPreprocessor`` for a second (tokenizer) view.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: Optional[dict] = None,
                 head: Optional[dict] = None,
                 target_generator: Optional[dict] = None,
                 bottleneck: bool = True,
                 with_cp: Optional[bool] = None,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if bottleneck and neck is None:
            raise ValueError('model.bottleneck=True needs model.neck (the '
                             'reconstruction stack, ProxyReconstructionNeck)'
                             '; set bottleneck=False for the baseline.')
        if not bottleneck and neck is not None:
            raise ValueError('model.bottleneck=False (the baseline) has no '
                             'reconstruction stack: set model.neck=None.')
        if head is None:
            raise ValueError('model.head is required.')
        if not isinstance(backbone, torch.nn.Module):
            backbone = MODELS.build(backbone)
        if isinstance(neck, dict):
            neck = MODELS.build(neck_settings(neck, backbone))
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            target_generator=target_generator,
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.bottleneck = bottleneck
        if with_cp is not None:
            self.backbone.with_cp = with_cp
            if self.with_neck:
                self.neck.with_cp = with_cp
        if self.target_generator is not None:
            # A fixed tokenizer / feature extractor: never trained, and no
            # unused parameters for DDP to look for.
            self.target_generator.requires_grad_(False)
        if bottleneck and getattr(self.backbone, 'num_proxy_tokens', 0) < 1:
            raise ValueError('model.backbone.num_proxy_tokens must be >= 1 '
                             'with the bottleneck on: the [MASK] tokens see '
                             'the image only through the proxies.')

    def extract_feat(self, inputs: Union[torch.Tensor, List[torch.Tensor]]):
        if isinstance(inputs, (list, tuple)):
            inputs = inputs[0]
        return self.backbone(inputs)

    @staticmethod
    def _stack(data_samples: List[DataSample], key: str) -> torch.Tensor:
        if not all(key in ds for ds in data_samples):
            raise KeyError(
                f'Pre-training needs `{key}` in every data sample: put '
                "SemanticMIMMaskGenerator and PackInputs(algorithm_keys=("
                f"'mask', ...)) in the train pipeline.")
        return torch.stack([ds.get(key) for ds in data_samples])

    def loss(self, inputs: Union[torch.Tensor, List[torch.Tensor]],
             data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Args:
            inputs (Tensor | list[Tensor]): Images, or [images, target view]
                from ``TwoNormDataPreprocessor``.
            data_samples (list[DataSample]): Carry ``mask`` and, when the mask
                generator draws an independent set, ``pred_mask``.

        Returns:
            dict[str, Tensor]: ``{'loss': ...}``.
        """
        if isinstance(inputs, (list, tuple)):
            images, target_view = inputs[0], inputs[-1]
        else:
            images = target_view = inputs
        mask = self._stack(data_samples, 'mask')
        pred_mask = self._stack(data_samples, 'pred_mask') \
            if 'pred_mask' in data_samples[0] else None

        enc = self.backbone(images, mask, pred_mask, self.bottleneck)
        latent = self.neck(enc.proxy_states, enc.mask_queries) \
            if self.bottleneck else enc.mask_outputs
        latent = self.backbone.ln1(latent)

        # targets in fp32 whatever the autocast state (also for generators
        # from elsewhere, e.g. mmpretrain's DALL-E)
        target = in_fp32(
            self.target_generator if self.target_generator is not None else
            (lambda x: x), target_view)
        return dict(loss=self.head.loss(latent, target, enc.pred_index))
