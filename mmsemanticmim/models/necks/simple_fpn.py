"""ViTDet's simple feature pyramid, from a plain ViT's stride-16 map.

Written here because mmdet ships SimpleFPN only in its source tree's
``projects/ViTDet`` folder, not in the pip package.
"""
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_norm_layer
from mmengine.model import BaseModule

from mmsemanticmim.registry import MODELS


@MODELS.register_module()
class SimpleFPN(BaseModule):
    """Strides 4, 8, 16, 32 (and 64) from one stride-16 feature map.

    Li et al., "Exploring Plain Vision Transformer Backbones for Object
    Detection" (ViTDet): 4x by two stride-2 deconvolutions (norm + GELU
    between), 2x by one, 1x as is, 0.5x by max-pooling; each level then gets
    a 1x1 and a 3x3 conv with norm; extra levels by stride-2 max-pooling of
    the last.

    Args:
        backbone_channel (int): Channels of the backbone map (ViT width).
        in_channels (Sequence[int]): Channels after rescaling of the 4 levels,
            ViTDet's ``[D/4, D/2, D, D]``.
        out_channels (int): Output channels of every level.
        num_outs (int): Number of levels returned (>= 4).
        norm_cfg (dict): Norm of the convs; ViTDet uses LayerNorm over
            channels (``mmpretrain.LN2d``).
    """

    @classmethod
    def check_model_config(cls, model_cfg) -> None:
        """What every tool checks before building a detector with this neck
        (:func:`check_pyramid_strides`)."""
        check_pyramid_strides(model_cfg)

    def __init__(self,
                 backbone_channel: int,
                 in_channels: Sequence[int],
                 out_channels: int,
                 num_outs: int = 5,
                 norm_cfg: dict = dict(type='mmpretrain.LN2d', eps=1e-6),
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != 4 or num_outs < 4:
            raise ValueError('SimpleFPN builds 4 levels (+ extra by '
                             f'pooling): in_channels={list(in_channels)}, '
                             f'num_outs={num_outs}')
        D = backbone_channel
        self.num_outs = num_outs
        self.fpn1 = nn.Sequential(
            nn.ConvTranspose2d(D, D // 2, 2, 2),
            build_norm_layer(norm_cfg, D // 2)[1], nn.GELU(),
            nn.ConvTranspose2d(D // 2, D // 4, 2, 2))
        self.fpn2 = nn.Sequential(nn.ConvTranspose2d(D, D // 2, 2, 2))
        self.fpn3 = nn.Identity()
        self.fpn4 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.lateral_convs = nn.ModuleList([
            ConvModule(c, out_channels, 1, norm_cfg=norm_cfg, inplace=False)
            for c in in_channels
        ])
        self.fpn_convs = nn.ModuleList([
            ConvModule(
                out_channels,
                out_channels,
                3,
                padding=1,
                norm_cfg=norm_cfg,
                inplace=False) for _ in in_channels
        ])

    def forward(self, inputs: Tuple[torch.Tensor]) -> Tuple[torch.Tensor]:
        """Args:
            inputs (tuple[Tensor]): The backbone outputs; the last one, a
                (B, D, H/16, W/16) map, is used.
        """
        x = inputs[-1]
        levels: List[torch.Tensor] = [
            f(x) for f in (self.fpn1, self.fpn2, self.fpn3, self.fpn4)
        ]
        outs = [
            fpn(lat(level)) for level, lat, fpn in zip(
                levels, self.lateral_convs, self.fpn_convs)
        ]
        while len(outs) < self.num_outs:
            outs.append(F.max_pool2d(outs[-1], 1, stride=2))
        return tuple(outs)


def check_pyramid_strides(model_cfg) -> None:
    """Refuse a detector whose SimpleFPN strides disagree with its heads.

    SimpleFPN turns the encoder's stride (its patch size) into levels of
    stride ``patch / 4, patch / 2, patch, 2 * patch`` and extra levels
    doubling on; the RPN anchors and the RoI extractors must name the same
    strides, or training runs silently on mismatched levels.

    Args:
        model_cfg (dict): A detector config (``model``); anything without a
            SimpleFPN neck is left alone.

    Raises:
        ValueError: Naming the config keys and the strides they must have.
    """
    neck = model_cfg.get('neck') or {}
    if not isinstance(neck, dict) or \
            not str(neck.get('type', '')).endswith('SimpleFPN'):
        return
    patch = (model_cfg.get('backbone') or {}).get('patch_size', 16)
    num_outs = neck.get('num_outs', 5)
    want = [patch / 4, patch / 2, patch, patch * 2]
    while len(want) < num_outs:
        want.append(want[-1] * 2)
    want = [int(s) if float(s).is_integer() else s for s in want]
    if patch % 4:
        raise ValueError(
            f'model.backbone.patch_size={patch}: SimpleFPN upsamples the '
            'patch grid 4x, so the patch size must be a multiple of 4.')
    found = {}
    rpn = model_cfg.get('rpn_head') or {}
    anchors = (rpn.get('anchor_generator') or {}).get('strides')
    if anchors is not None:
        found['model.rpn_head.anchor_generator.strides'] = ([
            s if isinstance(s, (int, float)) else s[0] for s in anchors
        ], want)
    roi = model_cfg.get('roi_head') or {}
    for name in ('bbox_roi_extractor', 'mask_roi_extractor'):
        strides = (roi.get(name) or {}).get('featmap_strides')
        if strides is not None:
            found[f'model.roi_head.{name}.featmap_strides'] = (
                list(strides), want[:len(strides)])
    for key, (got, need) in found.items():
        if list(got) != list(need):
            raise ValueError(
                f'SimpleFPN on a patch-{patch} encoder gives feature strides '
                f'{want}, but {key}={list(got)}: set it to {need} (or change '
                'model.backbone.patch_size / model.neck.num_outs).')
