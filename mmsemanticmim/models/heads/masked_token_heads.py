"""Heads that score only the predicted [MASK] tokens.

mmpretrain's heads take the whole sequence and a mask; SemanticMIM's
reconstruction side outputs just the K predicted tokens, so these subclasses
keep mmpretrain's layers and losses and only change what is indexed.
"""
from typing import Optional

import torch
from mmpretrain.models.heads import BEiTV1Head, MIMHead

from mmsemanticmim.registry import MODELS
from ..utils import gather_tokens


@MODELS.register_module()
class MaskedTokenClsHead(BEiTV1Head):
    """BEiT v1 head on the predicted tokens: linear to the tokenizer's
    vocabulary, cross-entropy against the tokenizer's argmax code.

    Args: as mmpretrain's ``BEiTV1Head`` (``embed_dims``, ``num_embed``,
    ``loss``, ``init_cfg``).
    """

    def loss(self, feats: torch.Tensor, target: torch.Tensor,
             pred_index: torch.Tensor) -> torch.Tensor:
        """Args:
            feats (Tensor): (B, K, D) normalised predicted tokens.
            target (Tensor): (B, num_embed, h, w) tokenizer logits for the
                whole patch grid.
            pred_index (Tensor): (B, K) positions of the predicted patches.
        """
        codes = target.argmax(dim=1).flatten(1)
        if codes.shape[1] <= int(pred_index.max()):
            raise ValueError(
                f'The tokenizer grid ({tuple(target.shape[-2:])}) is smaller '
                'than the patch grid; the second view must be 1/8 of the '
                'patch grid side in pixels times 8 (e.g. 112 for 224/16).')
        codes = torch.gather(codes, 1, pred_index)
        logits = self.cls_head(feats)
        return self.loss_module(logits.flatten(0, 1), codes.flatten())


@MODELS.register_module()
class MaskedRegressionHead(MIMHead):
    """Regression of per-patch targets (HOG, pixels) at predicted tokens.

    Args:
        predictor (dict): Projection from token width to target width, e.g.
            mmpretrain's ``LinearNeck`` (as MaskFeat uses).
        loss (dict): mmpretrain loss, e.g. ``PixelReconstructionLoss``.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 predictor: dict,
                 loss: dict,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(loss=loss)
        self.init_cfg = init_cfg
        self.predictor = MODELS.build(predictor)

    def loss(self, feats: torch.Tensor, target: torch.Tensor,
             pred_index: torch.Tensor) -> torch.Tensor:
        """Args:
            feats (Tensor): (B, K, D) normalised predicted tokens.
            target (Tensor): (B, N, C) per-patch targets of the whole grid.
            pred_index (Tensor): (B, K) positions of the predicted patches.
        """
        B, K, D = feats.shape
        # LinearNeck works on (batch, channels) rows.
        pred = self.predictor((feats.reshape(B * K, D), ))[0].view(B, K, -1)
        target = gather_tokens(target, pred_index)
        if pred.shape != target.shape:
            raise ValueError(
                f'Prediction {tuple(pred.shape)} and target '
                f'{tuple(target.shape)} differ: set the predictor '
                f'out_channels to {target.shape[-1]}.')
        return self.loss_module(pred, target)
