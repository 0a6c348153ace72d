import io
from collections import OrderedDict

import numpy as np
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from mmsemanticmim.engine import from_weights_only, to_weights_only


def test_message_hub_round_trip_under_weights_only():
    hub = MessageHub.get_instance('safe_ckpt_test')
    for i in range(5):
        hub.update_scalar('train/loss', 1.0 / (i + 1))
    hub.update_info('iter', np.int64(5))
    hub.update_info('arr', np.arange(3))
    ckpt = {'meta': {'seed': np.int32(3)}, 'message_hub': hub.state_dict()}
    buf = io.BytesIO()
    torch.save(to_weights_only(ckpt), buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=True)
    restored = from_weights_only(loaded['message_hub'])
    assert isinstance(restored['log_scalars'], OrderedDict)
    scalar = restored['log_scalars']['train/loss']
    assert isinstance(scalar, HistoryBuffer)
    assert np.allclose(scalar.data[0], [1, 1 / 2, 1 / 3, 1 / 4, 1 / 5])
    assert scalar.max_length == hub.log_scalars['train/loss'].max_length
    assert restored['runtime_info']['iter'] == 5
    assert loaded['meta']['seed'] == 3
    new = MessageHub.get_instance('safe_ckpt_test_2')
    new.load_state_dict(restored)
    assert new.get_scalar('train/loss').current() == 1 / 5


def test_stock_checkpoint_would_not_load():
    """Why the hook exists: mmengine's own message hub is refused."""
    import pickle

    import pytest
    hub = MessageHub.get_instance('safe_ckpt_test_3')
    hub.update_scalar('loss', 1.0)
    buf = io.BytesIO()
    torch.save({'message_hub': hub.state_dict()}, buf)
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(buf, weights_only=True)
