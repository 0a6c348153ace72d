"""SemanticMIM's mask: uniform random patches, the same count every image."""
import math
from typing import Optional

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmsemanticmim.registry import TRANSFORMS


def _check_ratio(name: str, value: float) -> float:
    if not 0 < value < 1:
        raise ValueError(f'{name} must be in (0, 1), got {value}')
    return float(value)


@TRANSFORMS.register_module()
class SemanticMIMMaskGenerator(BaseTransform):
    """Mask exactly ``ceil(N * mask_ratio)`` of the N mask patches, uniformly.

    The SimMIM-style generator of the reference code: masking is drawn on a
    grid of ``mask_patch_size`` cells, each cell covering
    ``(mask_patch_size / model_patch_size)^2`` model patches (one, for the
    reference's 16/16). Every image gets the same count, so a batch gathers
    into one tensor.

    **Added keys**: ``mask`` ((h, w) uint8 on the model's patch grid, 1 =
    hidden from the encoder); with ``pred_ratio``, ``pred_mask`` too (1 =
    reconstructed), drawn independently of ``mask``.

    Args:
        input_size (int): Image side in pixels. Defaults to 224.
        mask_patch_size (int): Masking cell side. Defaults to 16.
        model_patch_size (int): The ViT patch size. Defaults to 16.
        mask_ratio (float): Fraction of cells hidden, in (0, 1).
        pred_ratio (float, optional): If set, also draw an independent set of
            this fraction of cells to reconstruct (the reference's
            ``use_separate_mask``); by default the hidden cells are predicted.
    """

    def __init__(self,
                 input_size: int = 224,
                 mask_patch_size: int = 16,
                 model_patch_size: int = 16,
                 mask_ratio: float = 0.6,
                 pred_ratio: Optional[float] = None) -> None:
        if input_size % mask_patch_size:
            raise ValueError(f'input_size ({input_size}) must be divisible '
                             f'by mask_patch_size ({mask_patch_size})')
        if mask_patch_size % model_patch_size:
            raise ValueError(f'mask_patch_size ({mask_patch_size}) must be '
                             'divisible by model_patch_size '
                             f'({model_patch_size})')
        self.input_size = input_size
        self.mask_patch_size = mask_patch_size
        self.model_patch_size = model_patch_size
        self.mask_ratio = _check_ratio('mask_ratio', mask_ratio)
        self.pred_ratio = None if pred_ratio is None else \
            _check_ratio('pred_ratio', pred_ratio)
        self.cells = input_size // mask_patch_size
        self.scale = mask_patch_size // model_patch_size
        self.num_cells = self.cells**2
        self.mask_count = math.ceil(self.num_cells * self.mask_ratio)
        if self.mask_count >= self.num_cells:
            raise ValueError(f'mask_ratio {mask_ratio} hides all '
                             f'{self.num_cells} cells; lower it.')

    def _draw(self, count: int) -> torch.Tensor:
        mask = np.zeros(self.num_cells, dtype=np.uint8)
        mask[np.random.permutation(self.num_cells)[:count]] = 1
        mask = mask.reshape(self.cells, self.cells)
        mask = mask.repeat(self.scale, axis=0).repeat(self.scale, axis=1)
        return torch.from_numpy(mask)

    def transform(self, results: dict) -> dict:
        img = results.get('img')
        shape = tuple(img.shape[:2]) if hasattr(img, 'shape') else None
        if shape is not None and shape != (self.input_size, ) * 2:
            raise ValueError(
                f'SemanticMIMMaskGenerator input_size={self.input_size} '
                f'draws masks for {self.input_size}x{self.input_size} '
                f'images, but this image is {shape[0]}x{shape[1]} (after '
                'the transforms before it): set input_size to the size the '
                'pipeline crops to (train_pipeline\'s RandomResizedCrop '
                'scale), or put the generator after the crop.')
        results['mask'] = self._draw(self.mask_count)
        if self.pred_ratio is not None:
            results['pred_mask'] = self._draw(
                math.ceil(self.num_cells * self.pred_ratio))
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(input_size={self.input_size}, '
                f'mask_patch_size={self.mask_patch_size}, '
                f'model_patch_size={self.model_patch_size}, '
                f'mask_ratio={self.mask_ratio}, pred_ratio={self.pred_ratio})')
