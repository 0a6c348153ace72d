"""Normalised pixels of each patch as the regression target."""
import torch
from mmengine.model import BaseModule
from mmpretrain.models.heads import MAEPretrainHead

from mmsemanticmim.models.utils import fp32_targets
from mmsemanticmim.registry import MODELS


@MODELS.register_module()
class PatchPixelTarget(BaseModule):
    """Per-patch pixels, each patch normalised to zero mean and unit variance
    (MAE's ``norm_pix``; SimMIM regresses raw pixels: ``norm_pix=False``).

    Uses mmpretrain's ``MAEPretrainHead.construct_target`` (patchify +
    normalisation); the head itself has no parameters.

    Args:
        patch_size (int): The model's patch size.
        in_channels (int): Image channels. Defaults to 3.
        norm_pix (bool): Normalise each patch. Defaults to True.
    """

    def __init__(self,
                 patch_size: int = 16,
                 in_channels: int = 3,
                 norm_pix: bool = True) -> None:
        super().__init__()
        self.patch_size = patch_size
        self._mae = MAEPretrainHead(
            loss=dict(type='PixelReconstructionLoss', criterion='L2'),
            norm_pix=norm_pix,
            patch_size=patch_size,
            in_channels=in_channels)

    @property
    def out_channels(self) -> int:
        return self.patch_size**2 * self._mae.in_channels

    @fp32_targets
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) images -> (B, num_patches, patch_size^2 * C)."""
        if x.shape[-1] % self.patch_size or x.shape[-2] % self.patch_size:
            raise ValueError(f'image {tuple(x.shape[-2:])} is not a '
                             f'multiple of patch_size {self.patch_size}')
        return self._mae.construct_target(x)
