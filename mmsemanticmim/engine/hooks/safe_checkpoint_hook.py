"""Keep every checkpoint loadable with ``torch.load(weights_only=True)``."""
from typing import List

from mmengine.hooks import Hook

from mmsemanticmim.checkpoint.weights_only import (from_weights_only,
                                                   to_weights_only)
from mmsemanticmim.registry import HOOKS


@HOOKS.register_module()
class SafeCheckpointHook(Hook):
    """Write checkpoints that load without running code, and read them back.

    Before mmengine saves, the whole checkpoint dict (meta, message hub,
    scheduler states) is rewritten with :func:`to_weights_only`; after a
    checkpoint is loaded (``resume`` or ``load_from``) the message hub's
    ``HistoryBuffer`` objects are rebuilt, so logging resumes where it was.
    The tools add this hook to every config that lacks it.
    """

    priority = 'VERY_LOW'  # after every hook that adds to the checkpoint

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        converted = to_weights_only(checkpoint)
        checkpoint.clear()
        checkpoint.update(converted)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.get('meta')
        if isinstance(meta, dict) and 'config' in meta:
            # mmengine's resume executes meta['config'] as a Python config
            # (Config.fromstring) to compare GPU counts; mmengine itself
            # writes meta['cfg'], so only a foreign file has this key.
            meta.pop('config')
            runner.logger.warning(
                "Ignored the checkpoint's meta['config'] (config text is "
                'code, and a checkpoint never runs code here).')
        for key in ('message_hub', 'meta'):
            if key in checkpoint:
                checkpoint[key] = from_weights_only(checkpoint[key])


#: The hooks every run of our tools has (``_base_/default_runtime.py``
#: names them; a config that does not gets them added).
CHECKPOINT_HOOKS = ('SafeCheckpointHook', 'BackboneMetaHook',
                    'ResumeGuardHook', 'NonFiniteLossHook')


def add_checkpoint_hooks(cfg) -> List[str]:
    """Append the :data:`CHECKPOINT_HOOKS` the config's ``custom_hooks``
    lack.

    Args:
        cfg (mmengine.Config): The config a tool is about to run; its scope
            may be mmseg's or mmdet's, hence the scoped type names.

    Returns:
        list[str]: The hooks added (for the tool to say so).
    """
    hooks = list(cfg.get('custom_hooks', None) or [])
    names = {str(h.get('type')).split('.')[-1] for h in hooks}
    added = [name for name in CHECKPOINT_HOOKS if name not in names]
    hooks += [dict(type=f'mmsemanticmim.{name}') for name in added]
    cfg.custom_hooks = hooks
    return [f'mmsemanticmim.{name}' for name in added]
