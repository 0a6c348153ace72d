import io
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from mmsemanticmim.checkpoint import from_weights_only, to_weights_only
from mmsemanticmim.engine import SafeCheckpointHook


def _hub(name):
    hub = MessageHub.get_instance(name)
    for i in range(5):
        hub.update_scalar('train/loss', 1.0 / (i + 1))
    hub.update_info('iter', np.int64(5))
    hub.update_info('arr', np.arange(3, dtype=np.int16))
    return hub


def _save_load(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def test_message_hub_round_trip_under_weights_only():
    hub = _hub('safe_ckpt_test')
    ckpt = {
        'meta': {
            'seed': np.int32(3),
            'names': np.array(['a', 'b'])
        },
        'message_hub': hub.state_dict()
    }
    loaded = _save_load(to_weights_only(ckpt))
    restored = from_weights_only(loaded['message_hub'])
    assert isinstance(restored['log_scalars'], OrderedDict)
    scalar = restored['log_scalars']['train/loss']
    assert isinstance(scalar, HistoryBuffer)
    assert np.allclose(scalar.data[0], [1, 1 / 2, 1 / 3, 1 / 4, 1 / 5])
    assert scalar.max_length == hub.log_scalars['train/loss'].max_length
    assert restored['runtime_info']['iter'] == 5
    # numpy arrays come back as numpy arrays, dtype and values kept
    arr = restored['runtime_info']['arr']
    assert isinstance(arr, np.ndarray) and arr.dtype == np.int16
    assert arr.tolist() == [0, 1, 2]
    assert loaded['meta']['seed'] == 3
    assert loaded['meta']['names'] == ['a', 'b']
    new = MessageHub.get_instance('safe_ckpt_test_2')
    new.load_state_dict(restored)
    assert new.get_scalar('train/loss').current() == 1 / 5


def test_hook_makes_a_stock_checkpoint_loadable():
    """mmengine's own message hub is refused by the safe unpickler; the
    same checkpoint passed through the hook loads and comes back whole."""
    hub = _hub('safe_ckpt_test_3')
    ckpt = {
        'meta': {
            'epoch': 1
        },
        'message_hub': hub.state_dict(),
        'state_dict': {
            'w': torch.ones(2)
        }
    }
    with pytest.raises(pickle.UnpicklingError):
        _save_load(ckpt)
    hook = SafeCheckpointHook()
    hook.before_save_checkpoint(None, ckpt)  # in place, as mmengine calls it
    loaded = _save_load(ckpt)
    hook.after_load_checkpoint(None, loaded)
    assert isinstance(loaded['message_hub']['log_scalars']['train/loss'],
                      HistoryBuffer)
    assert isinstance(loaded['message_hub']['runtime_info']['arr'], np.ndarray)
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))
