"""Layer-wise lr decay for any model whose backbone reports layer depths."""
from functools import partial
from typing import Callable, List, Optional

import torch.nn as nn
from mmpretrain.engine.optimizers import \
    LearningRateDecayOptimWrapperConstructor

from mmsemanticmim.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(
        LearningRateDecayOptimWrapperConstructor):
    """mmpretrain's layer-decay constructor, for mmseg and mmdet models too.

    mmseg's and mmdet's own constructors pick layer ids by the backbone's
    class name (BEiT, MAE, ConvNeXt, ViT) and raise for anything else;
    mmpretrain's asks the *model* for ``get_layer_depth``, which segmentors
    and detectors lack. This one asks the model, else its backbone (with the
    ``backbone.`` prefix, so necks and heads get the last depth), so it works
    for any backbone that implements ``get_layer_depth(name, prefix)``.

    Use in a config of any scope::

        optim_wrapper = dict(
            constructor='mmsemanticmim.LayerDecayOptimWrapperConstructor',
            paramwise_cfg=dict(layer_decay_rate=0.9, ...))
    """

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   get_layer_depth: Optional[Callable] = None,
                   **kwargs) -> None:
        if get_layer_depth is None and prefix == '' and \
                not hasattr(module, 'get_layer_depth'):
            backbone = getattr(module, 'backbone', None)
            if not hasattr(backbone, 'get_layer_depth'):
                raise TypeError(
                    f'Layer-wise lr decay needs get_layer_depth() on the '
                    f'model ({type(module).__name__}) or its backbone '
                    f'({type(backbone).__name__}); use a backbone that has '
                    'it, such as mmsemanticmim.SemanticMIMViT, or drop '
                    'layer_decay_rate.')
            get_layer_depth = partial(
                backbone.get_layer_depth, prefix='backbone.')
        super().add_params(
            params,
            module,
            prefix=prefix,
            get_layer_depth=get_layer_depth,
            **kwargs)
