"""What ``import mmsemanticmim`` needs installed, checked before anything
imports it, so that a missing library gives one message saying what to
install instead of the first ``ModuleNotFoundError`` deep in a stack."""
import importlib.util
from typing import List

#: (import name, what to install), in install order. torch and torchvision
#: are the user's (a build for their platform); the OpenMMLab packages are
#: the ``mim`` extra, as in OpenMMLab's own packages.
REQUIRED = (
    ('torch', 'torch'),
    ('torchvision', 'torchvision'),
    ('mmengine', 'mmengine'),
    ('mmcv', 'mmcv==2.1.0 (built with its ops)'),
    ('mmpretrain', 'mmpretrain'),
    ('mmseg', 'mmsegmentation'),
    ('mmdet', 'mmdet'),
)

INSTALL_HINT = (
    "Install torch and torchvision for your platform first "
    "(https://pytorch.org), then the OpenMMLab packages: "
    "`pip install 'mmsemanticmim[mim]'` (from a checkout: "
    "`pip install '.[mim]'`); "
    "mmcv 2.1.0 has no CPU wheels on PyPI and is built from source with its "
    "ops (MMCV_WITH_OPS=1), see docs/get_started.md.")


def missing_requirements() -> List[str]:
    """The install names of the required libraries that are not found."""
    return [
        pip for name, pip in REQUIRED if importlib.util.find_spec(name) is None
    ]


def check_requirements() -> None:
    """Raise one ``ImportError`` naming every missing library."""
    missing = missing_requirements()
    if missing:
        raise ImportError('mmsemanticmim needs ' + ', '.join(missing) +
                          ', which ' + ('is' if len(missing) == 1 else 'are') +
                          ' not installed. ' + INSTALL_HINT)
