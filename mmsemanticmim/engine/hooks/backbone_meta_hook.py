"""Record the encoder's settings in every checkpoint it is saved in."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmsemanticmim.checkpoint import META_KEY
from mmsemanticmim.registry import HOOKS


@HOOKS.register_module()
class BackboneMetaHook(Hook):
    """Store ``backbone.checkpoint_meta()`` (proxy count, layer flavour,
    width, depth, patch and image size) under ``meta['semanticmim_backbone']``
    so that downstream configs can read them (``num_proxy_tokens=None``) or
    fail with the checkpoint's values. Models without such a backbone are
    left alone."""

    priority = 'LOW'  # before SafeCheckpointHook (VERY_LOW) converts

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        backbone = getattr(model, 'backbone', None)
        if hasattr(backbone, 'checkpoint_meta'):
            checkpoint.setdefault('meta', {})[META_KEY] = \
                backbone.checkpoint_meta().to_dict()
