from .device_amp_optim_wrapper import DeviceAmpOptimWrapper, default_amp_dtype
from .layer_decay_optim_wrapper_constructor import \
    LayerDecayOptimWrapperConstructor

__all__ = [
    'LayerDecayOptimWrapperConstructor', 'DeviceAmpOptimWrapper',
    'default_amp_dtype'
]
