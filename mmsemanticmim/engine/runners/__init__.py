from .build import (FSDP_RUNTIME, backbone_from_checkpoint, build_runner,
                    prepare_config, use_fsdp)
from .command_line import (build_test_parser, build_train_parser,
                           merge_train_args, run_test, run_train)
from .safe_runner import NothingToResumeError, SafeFlexibleRunner, SafeRunner

__all__ = [
    'SafeRunner', 'NothingToResumeError', 'build_runner', 'prepare_config',
    'backbone_from_checkpoint', 'use_fsdp', 'FSDP_RUNTIME',
    'SafeFlexibleRunner', 'build_train_parser', 'merge_train_args',
    'run_train', 'build_test_parser', 'run_test'
]
