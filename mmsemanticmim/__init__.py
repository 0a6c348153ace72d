"""mmsemanticmim: SemanticMIM pre-training and transfer on OpenMMLab."""
# The compatibility guards must run before anything imports torchvision.
from .utils import compat as _compat

_compat.apply()

from .version import __version__  # noqa: E402
from .utils.checkpoint_file import register_checkpoint_loaders  # noqa: E402

# OpenMMLab's loaders (load_from, resume, init_cfg=Pretrained) read local
# files and URLs without running code from them.
register_checkpoint_loaders()

# Importing the package registers its modules (what ``custom_imports``
# relies on in mmseg / mmdet configs).
from . import datasets, engine, models  # noqa: E402,F401
# Every component registered in the ``mmsemanticmim`` scope whose name is a
# Python name (all but the pre-training-only 'DALL-E'), by that name; the
# runners are in mmengine's root registry (``runner_type='SafeRunner'``).
# mmseg's and mmdet's registries resolve ``type='mmsemanticmim.Name'`` by
# importing the dotted name (mmengine's ``Registry.get`` falls back to
# ``get_object_from_string`` for a scope that is not the root's direct child;
# ours is mmpretrain's child), so these are what their configs reach;
# mmpretrain's own components they name as ``mmpretrain.Name``.
from .datasets import (SemanticMIMMaskGenerator,  # noqa: E402
                       StrictLoadImageFromFile)
from .engine import (BackboneMetaHook, DeviceAdamW,  # noqa: E402
                     DeviceAmpOptimWrapper, LayerDecayOptimWrapperConstructor,
                     NonFiniteLossHook, ResumeGuardHook, SafeCheckpointHook,
                     SafeFSDPStrategy)
from .models import (MaskedRegressionHead, MaskedTokenClsHead,  # noqa: E402
                     PatchHOGGenerator, PatchPixelTarget,
                     ProxyReconstructionNeck, SemanticMIM,
                     SemanticMIMPretrainViT, SemanticMIMViT, SimpleFPN)

__all__ = [
    '__version__', 'SemanticMIMMaskGenerator', 'StrictLoadImageFromFile',
    'BackboneMetaHook', 'DeviceAdamW', 'DeviceAmpOptimWrapper',
    'LayerDecayOptimWrapperConstructor', 'NonFiniteLossHook',
    'ResumeGuardHook', 'SafeCheckpointHook', 'SafeFSDPStrategy',
    'MaskedRegressionHead', 'MaskedTokenClsHead', 'PatchHOGGenerator',
    'PatchPixelTarget', 'ProxyReconstructionNeck', 'SemanticMIM',
    'SemanticMIMPretrainViT', 'SemanticMIMViT', 'SimpleFPN'
]
