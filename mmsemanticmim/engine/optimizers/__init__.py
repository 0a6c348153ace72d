from .device_adamw import DeviceAdamW
from .device_amp_optim_wrapper import DeviceAmpOptimWrapper, default_amp_dtype
from .layer_decay_optim_wrapper_constructor import \
    LayerDecayOptimWrapperConstructor

__all__ = [
    'DeviceAdamW', 'LayerDecayOptimWrapperConstructor',
    'DeviceAmpOptimWrapper', 'default_amp_dtype'
]
