"""A checkpoint dict as tensors and plain containers, and back: what
``torch.load(weights_only=True)`` reads without running code."""
from collections import OrderedDict
from typing import Any

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

_BUFFER_TAG = '__history_buffer__'
_NDARRAY_TAG = '__ndarray__'


def to_weights_only(obj: Any) -> Any:
    """Rewrite ``obj`` into tensors and plain containers.

    mmengine 0.10.7 saves its message hub as ``HistoryBuffer`` objects holding
    numpy arrays (open-mmlab/mmengine#1655), which the safe unpickler of
    torch >= 2.6 rejects. Buffers and numpy arrays become tagged dicts of
    tensors, numpy scalars Python numbers; :func:`from_weights_only` restores
    the buffers and the arrays (same dtype and values).
    """
    if isinstance(obj, HistoryBuffer):
        log, count = obj.data
        return {
            _BUFFER_TAG: True,
            'log_history': torch.from_numpy(np.asarray(log, dtype=np.float64)),
            'count_history':
            torch.from_numpy(np.asarray(count, dtype=np.int64)),
            'max_length': int(obj.max_length),
        }
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in 'biufc':  # objects, strings: plain lists
            return [to_weights_only(x) for x in obj.tolist()]
        return {_NDARRAY_TAG: True, 'data': torch.from_numpy(obj.copy())}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, OrderedDict):
        return OrderedDict((k, to_weights_only(v)) for k, v in obj.items())
    if isinstance(obj, dict):
        return {k: to_weights_only(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_weights_only(v) for v in obj)
    return obj


def from_weights_only(obj: Any) -> Any:
    """Inverse of :func:`to_weights_only` for the message hub's buffers."""
    if isinstance(obj, dict):
        if obj.get(_BUFFER_TAG, False):
            return HistoryBuffer(obj['log_history'].tolist(),
                                 obj['count_history'].tolist(),
                                 obj['max_length'])
        if obj.get(_NDARRAY_TAG, False):
            return obj['data'].numpy()
        return type(obj)((k, from_weights_only(v)) for k, v in obj.items())
    if isinstance(obj, list):
        return [from_weights_only(v) for v in obj]
    return obj
