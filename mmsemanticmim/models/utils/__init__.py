from .attention import PrefixAttention
from .layer_stack import init_linear_and_norm, parse_arch, run_layer
from .masking import gather_tokens, mask_to_indices
from .precision import fp32_targets, in_fp32
from .transformer_layer import (LAYER_TYPES, ProxyTransformerLayer,
                                check_layer_type, wrap_transformer_layers)

__all__ = [
    'PrefixAttention', 'ProxyTransformerLayer', 'LAYER_TYPES',
    'mask_to_indices', 'gather_tokens', 'fp32_targets', 'in_fp32',
    'parse_arch', 'init_linear_and_norm', 'run_layer',
    'wrap_transformer_layers', 'check_layer_type'
]
