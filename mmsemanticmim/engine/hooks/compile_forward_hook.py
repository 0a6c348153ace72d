"""torch.compile of the model's forward, once, when training starts."""
from typing import Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmsemanticmim.registry import HOOKS


@HOOKS.register_module()
class CompileForwardHook(Hook):
    """Compile the model's ``forward`` (not mmengine's ``compile`` key,
    which compiles the whole ``train_step``).

    The optimizer wrapper's step and the scheduler hooks stay eager: torch
    2.13's dynamo fails inside ``OptimWrapper.step`` (an
    InternalTorchDynamoError), and the forward is where the time is.
    FlexibleRunner's strategies compile the forward the same way.

    Args:
        options (dict, optional): ``torch.compile`` keyword arguments
            (``mode``, ``backend``, ...).
    """

    priority = 'VERY_HIGH'

    def __init__(self, options: Optional[dict] = None) -> None:
        self.options = dict(options or {})
        self.compiled = False

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        if self.compiled:  # a second train() call
            return
        model.forward = torch.compile(model.forward, **self.options)
        self.compiled = True
        runner.logger.info(
            f'Compiled the model forward ({self.options or "default"}): the '
            'first iterations are slow.')
