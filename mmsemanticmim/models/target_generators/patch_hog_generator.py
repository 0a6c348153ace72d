"""HOG targets grouped by the model's patch size, at any input size."""
import torch
from mmpretrain.models.selfsup import HOGGenerator

from mmsemanticmim.models.utils import fp32_targets
from mmsemanticmim.registry import MODELS


@MODELS.register_module()
class PatchHOGGenerator(HOGGenerator):
    """mmpretrain's ``HOGGenerator`` with the cell grouping taken from the
    patch size.

    The parent groups HOG cells as if every image had 14 x 14 patches
    (``unfold_size = cells // 14``), which is right for 224/16 only and fails
    ("step is 0") on small inputs. Here each patch gathers
    ``(patch_size / pool)^2`` cells, so the target of a patch is
    ``3 * nbins * (patch_size / pool)^2`` values (108 for 16/8, 9 bins) at any
    image size; at 224/16 the numbers equal the parent's.

    Args:
        nbins (int): Orientation bins. Defaults to 9.
        pool (int): Cell size in pixels. Defaults to 8.
        gaussian_window (int): Gaussian weighting window. Defaults to 16.
        patch_size (int): The model's patch size. Defaults to 16.
    """

    def __init__(self,
                 nbins: int = 9,
                 pool: int = 8,
                 gaussian_window: int = 16,
                 patch_size: int = 16) -> None:
        super().__init__(
            nbins=nbins, pool=pool, gaussian_window=gaussian_window)
        if patch_size % pool:
            raise ValueError(f'patch_size ({patch_size}) must be a multiple '
                             f'of the HOG pool ({pool}).')
        self.patch_size = patch_size

    @property
    def out_channels(self) -> int:
        return 3 * self.nbins * (self.patch_size // self.pool)**2

    def _reshape(self, hog_feat: torch.Tensor) -> torch.Tensor:
        """(B, 3, nbins, h, w) cells -> (B, num_patches, out_channels)."""
        hog_feat = hog_feat.flatten(1, 2).permute(0, 2, 3, 1)
        size = self.patch_size // self.pool
        hog_feat = hog_feat.unfold(1, size, size).unfold(2, size, size)
        return hog_feat.flatten(1, 2).flatten(2)

    @fp32_targets
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2] % self.patch_size or x.shape[-1] % self.patch_size:
            raise ValueError(f'HOG input {tuple(x.shape[-2:])} is not a '
                             f'multiple of patch_size {self.patch_size}.')
        # the parent named, not super(): torch 2.1's dynamo cannot guard a
        # zero-argument super() inside the decorated function
        return HOGGenerator.forward(self, x)
