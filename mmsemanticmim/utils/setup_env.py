import datetime
import warnings

from mmengine import DefaultScope


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
