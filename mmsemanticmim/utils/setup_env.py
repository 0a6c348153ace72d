"""What a process opts in to: registration of every module, and the
checkpoint loading and warnings our tools use (never done at import)."""
import datetime
import warnings
from typing import Optional

from mmengine import DefaultScope


def setup_env(trust_flag: Optional[str] = None) -> None:
    """Opt this process in to what mmsemanticmim's tools run with.

    Importing the package only registers components; this call, made by
    our tools and runners at their entry (and by a user who wants the same
    in their own script), changes process-wide state:

    - mmengine's ``CheckpointLoader`` reads local files and http(s) URLs
      weights-only through :func:`read_checkpoint` (no code from a
      checkpoint runs; URLs are cached per URL and checked against the
      hash prefix of their file name), for every OpenMMLab library;
    - setuptools' ``pkg_resources is deprecated`` warning, which mmengine
      triggers on every run (pypa/setuptools#4869), is not shown.

    Args:
        trust_flag (str, optional): The command-line flag that trusts a
            checkpoint in the calling tool (``'--trust-checkpoint'``),
            named by refusals. None: they name the call and environment
            variable instead.
    """
    # imported here: ``import mmsemanticmim`` loads this module before its
    # import guards run, and the checkpoint package imports mmpretrain
    from mmsemanticmim.checkpoint.reading import (register_checkpoint_loaders,
                                                  set_trust_flag)
    register_checkpoint_loaders()
    set_trust_flag(trust_flag)
    warnings.filterwarnings(
        'ignore', message='pkg_resources is deprecated', category=UserWarning)


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register mmpretrain's and mmsemanticmim's modules in their registries.

    Args:
        init_default_scope (bool): Whether to make ``mmsemanticmim`` the
            global default scope, so bare names resolve here first and then
            in mmpretrain. Defaults to True.
    """
    import mmpretrain.utils
    mmpretrain.utils.register_all_modules(init_default_scope=False)

    import mmsemanticmim.datasets  # noqa: F401
    import mmsemanticmim.engine  # noqa: F401
    import mmsemanticmim.models  # noqa: F401

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None:
        DefaultScope.get_instance('mmsemanticmim', scope_name='mmsemanticmim')
    elif current.scope_name != 'mmsemanticmim':
        warnings.warn(f'The current default scope "{current.scope_name}" is '
                      'not "mmsemanticmim"; register_all_modules switches it '
                      'to "mmsemanticmim". Pass init_default_scope=False to '
                      'keep it.')
        DefaultScope.get_instance(
            f'mmsemanticmim-{datetime.datetime.now()}',
            scope_name='mmsemanticmim')
