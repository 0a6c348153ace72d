"""The configs, tools and model index shipped with the package.

As in OpenMMLab's packages, they live in ``mmsemanticmim/.mim/``: copies in
a wheel or sdist install, links to the checkout's ``configs/``, ``tools/``
and ``model-index.yml`` in an editable one (``setup.py`` makes both). This
is the one place that finds them; a source tree that was never installed
(no ``.mim/``) is read from the folders beside the package.
"""
import os.path as osp

PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
MIM_DIR = osp.join(PACKAGE_DIR, '.mim')
#: The folders and files ``.mim/`` holds.
MIM_ENTRIES = ('configs', 'tools', 'model-index.yml')


def package_file(*parts: str) -> str:
    """The path of a shipped file, e.g. ``package_file('configs',
    'semanticmim', NAME)`` or ``package_file('tools', 'train.py')``.

    Raises:
        FileNotFoundError: Naming the path, where neither ``.mim/`` nor the
            source tree beside the package holds it.
    """
    if not parts or parts[0] not in MIM_ENTRIES:
        raise ValueError(f'package_file: the first part must be one of '
                         f'{MIM_ENTRIES}, got {parts[:1]}')
    source_tree = osp.dirname(PACKAGE_DIR)
    candidates = (osp.join(MIM_DIR, *parts), osp.join(source_tree, *parts))
    if osp.exists(candidates[0]):
        return candidates[0]
    # beside the package only in a source tree (not site-packages, where
    # another project's configs/ or tools/ may lie)
    if osp.isfile(osp.join(source_tree, 'setup.py')) and \
            osp.exists(candidates[1]):
        return candidates[1]
    raise FileNotFoundError(
        f'{osp.join(*parts)} is not shipped with this mmsemanticmim '
        f'installation (looked in {candidates[0]} and {candidates[1]}): '
        'reinstall the package (`pip install .` or `pip install -e .` from '
        'the source tree).')


def config_file(*parts: str) -> str:
    """``package_file('configs', *parts)``."""
    return package_file('configs', *parts)


def register_config_package() -> None:
    """Let mmengine's ``Config`` resolve ``mmsemanticmim::PATH``.

    mmengine reads ``PKG::PATH`` from ``PKG/.mim/configs/PATH`` only for
    the packages in its ``MODULE2PACKAGE`` table (OpenMMLab's own); this
    adds ours, as registering a component adds a name (entries of other
    packages are left as they are). A config read before
    ``import mmsemanticmim`` (e.g. by another library's ``tools/train.py``)
    cannot name ``mmsemanticmim::``: use our tools, ``mim train
    mmsemanticmim``, or import the package first.
    """
    from mmengine.config import utils as config_utils
    table = getattr(config_utils, 'MODULE2PACKAGE', None)
    if isinstance(table, dict):
        table.setdefault('mmsemanticmim', 'mmsemanticmim')
