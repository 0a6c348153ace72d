"""mmpretrain's DALL-E tokenizer, run in fp32 whatever the autocast state."""
import torch
from mmpretrain.models.selfsup.cae import DALLEEncoder

from mmsemanticmim.models.utils import fp32_targets
from mmsemanticmim.registry import MODELS


@MODELS.register_module(name='DALL-E')
class FP32DALLEEncoder(DALLEEncoder):
    """mmpretrain's ``DALLEEncoder`` (the same weights and numbers in fp32),
    its forward in fp32 under bf16/fp16 autocast: a token is an argmax over
    8192 logits, which rounding can move. Registered in our scope under
    mmpretrain's name, so configs keep ``type='DALL-E'``."""

    @fp32_targets
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # the parent named, not super(): torch 2.1's dynamo cannot guard a
        # zero-argument super() inside the decorated function
        return DALLEEncoder.forward(self, x)
