"""mmsemanticmim: SemanticMIM pre-training and transfer on OpenMMLab."""
# The compatibility guards must run before anything imports torchvision.
from .utils import compat as _compat

_compat.apply()

from .version import __version__  # noqa: E402

# Importing the package registers its modules (what ``custom_imports``
# relies on in mmseg / mmdet configs).
from . import datasets, engine, models  # noqa: E402,F401

__all__ = ['__version__']
