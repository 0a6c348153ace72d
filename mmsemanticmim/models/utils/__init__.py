from .attention import PrefixAttention
from .masking import gather_tokens, mask_to_indices
from .precision import fp32_targets
from .transformer_layer import LAYER_TYPES, ProxyTransformerLayer

__all__ = [
    'PrefixAttention', 'ProxyTransformerLayer', 'LAYER_TYPES',
    'mask_to_indices', 'gather_tokens', 'fp32_targets'
]
