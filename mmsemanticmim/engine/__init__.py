from .hooks import *  # noqa: F401,F403
from .launch import DistTimeoutError, init_distributed
from .optimizers import *  # noqa: F401,F403
from .runners import (NothingToResumeError, SafeFlexibleRunner, SafeRunner,
                      backbone_from_checkpoint, build_runner,
                      build_test_parser, build_train_parser, merge_train_args,
                      prepare_config, run_test, run_train, use_fsdp)
from .strategies import SafeFSDPStrategy
from .work_dir_lock import WorkDirBusyError

__all__ = [
    'SafeRunner', 'NothingToResumeError', 'build_runner', 'prepare_config',
    'backbone_from_checkpoint', 'use_fsdp', 'SafeFlexibleRunner',
    'SafeFSDPStrategy', 'init_distributed', 'build_train_parser',
    'merge_train_args', 'run_train', 'build_test_parser', 'run_test',
    'DistTimeoutError', 'WorkDirBusyError'
]
