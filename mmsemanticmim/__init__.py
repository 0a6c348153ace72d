"""mmsemanticmim: SemanticMIM pre-training and transfer on OpenMMLab.

Importing the package registers its components (what ``custom_imports``
relies on in mmseg / mmdet configs) and its model index, and changes no
other library's behaviour; ``setup_env()`` opts a process in to the safe
checkpoint loading our tools use.
"""
# isort: skip_file
# (the order is deliberate: the requirement check and the guards first)
from .requirements import check_requirements as _check_requirements

# One message naming what to install, instead of the first ImportError.
_check_requirements()

# Where torchvision or mmpretrain cannot import as installed, the guards
# that let them (they change nothing where the libraries import fine).
from .utils import compat as _compat

_compat.apply()

from .version import __version__
from .utils.setup_env import setup_env
from . import datasets, engine, models
from .apis.model_index import register_model_index
from .utils.package_files import register_config_package

# mmpretrain.list_models / get_model find our pre-training and
# classification models (ModelHub's registry of names), and mmengine's
# Config our configs as `mmsemanticmim::PATH` (its table of packages).
register_model_index()
register_config_package()

# Every component registered in the ``mmsemanticmim`` scope whose name is a
# Python name (all but the pre-training-only 'DALL-E'), by that name; the
# runners are in mmengine's root registry (``runner_type='SafeRunner'``).
# mmseg's and mmdet's registries resolve ``type='mmsemanticmim.Name'`` by
# importing the dotted name (mmengine's ``Registry.get`` falls back to
# ``get_object_from_string`` for a scope that is not the root's direct child;
# ours is mmpretrain's child), so these are what their configs reach;
# mmpretrain's own components they name as ``mmpretrain.Name``.
from .datasets import SemanticMIMMaskGenerator, StrictLoadImageFromFile
from .engine import (BackboneMetaHook, CompileForwardHook, DeviceAdamW,
                     DeviceAmpOptimWrapper, LayerDecayOptimWrapperConstructor,
                     NonFiniteLossHook, ResumeGuardHook, SafeCheckpointHook,
                     SafeFSDPStrategy)
from .models import (MaskedRegressionHead, MaskedTokenClsHead,
                     PatchHOGGenerator, PatchPixelTarget,
                     ProxyReconstructionNeck, SemanticMIM,
                     SemanticMIMPretrainViT, SemanticMIMViT, SimpleFPN)

__all__ = [
    '__version__', 'setup_env', 'SemanticMIMMaskGenerator',
    'StrictLoadImageFromFile', 'BackboneMetaHook', 'CompileForwardHook',
    'DeviceAdamW', 'DeviceAmpOptimWrapper',
    'LayerDecayOptimWrapperConstructor', 'NonFiniteLossHook',
    'ResumeGuardHook', 'SafeCheckpointHook', 'SafeFSDPStrategy',
    'MaskedRegressionHead', 'MaskedTokenClsHead', 'PatchHOGGenerator',
    'PatchPixelTarget', 'ProxyReconstructionNeck', 'SemanticMIM',
    'SemanticMIMPretrainViT', 'SemanticMIMViT', 'SimpleFPN'
]
