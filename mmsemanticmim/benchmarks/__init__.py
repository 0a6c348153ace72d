"""What the benchmark tools measure: the pre-training arms built from their
own configs (ours, mmpretrain's, and the authors' with their checkout), the
speed and memory comparisons and the prepared GPU check.

Imported on demand (``import mmsemanticmim`` does not).
"""
from .pretrain_speed import (CONFIGS, build, import_reference,
                             like_for_like_optimizer, make_batch, prepare)

__all__ = [
    'CONFIGS', 'build', 'import_reference', 'like_for_like_optimizer',
    'make_batch', 'prepare'
]
