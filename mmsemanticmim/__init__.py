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

__all__ = ['__version__']
