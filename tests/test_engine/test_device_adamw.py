"""DeviceAdamW: torch's AdamW, fused wherever this torch can fuse it."""
import copy

import torch

from mmsemanticmim.engine.optimizers import DeviceAdamW
from mmsemanticmim.utils.torch_features import fused_adamw_supported


def _params(seed=0):
    g = torch.Generator().manual_seed(seed)
    return [
        torch.nn.Parameter(torch.randn(5, 3, generator=g)),
        torch.nn.Parameter(torch.randn(7, generator=g))
    ]


def _train(opt, params, steps=3):
    g = torch.Generator().manual_seed(1)
    for _ in range(steps):
        for p in params:
            p.grad = torch.randn(p.shape, generator=g)
        opt.step()
    return [p.detach().clone() for p in params]


def test_fused_where_supported_and_same_numbers():
    """The choice follows the feature test; the update is AdamW's."""
    fused = fused_adamw_supported('cpu')
    ours = _params()
    opt = DeviceAdamW(ours, lr=1e-2, weight_decay=0.05)
    assert opt.defaults['fused'] is fused
    assert bool(opt.defaults.get('foreach')) is (not fused)
    theirs = _params()
    ref = torch.optim.AdamW(
        theirs,
        lr=1e-2,
        weight_decay=0.05,
        **({
            'fused': True
        } if fused else {}))
    for a, b in zip(_train(opt, ours), _train(ref, theirs)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_parameter_groups_and_explicit_choice():
    params = _params()
    opt = DeviceAdamW([{
        'params': [params[0]]
    }, {
        'params': params[1],
        'weight_decay': 0.
    }],
                      lr=1e-3)
    assert opt.defaults['fused'] is fused_adamw_supported('cpu')
    assert DeviceAdamW(_params(), fused=False).defaults['fused'] is False


def test_state_saved_with_the_other_choice_loads():
    """A state dict from a machine that fused (or did not) keeps this
    instance's implementation, and its moments."""
    params = _params()
    opt = DeviceAdamW(params, lr=1e-2)
    _train(opt, params, steps=1)
    state = copy.deepcopy(opt.state_dict())
    for group in state['param_groups']:
        group['fused'] = not opt.defaults['fused']
        group['foreach'] = None
    other = DeviceAdamW(params, lr=1e-2)
    other.load_state_dict(state)
    for group in other.param_groups:
        assert group['fused'] is opt.defaults['fused']
        assert group['foreach'] == opt.defaults.get('foreach')
    torch.testing.assert_close(other.state[params[0]]['exp_avg'],
                               opt.state[params[0]]['exp_avg'])
    _train(other, params, steps=1)  # the kept implementation runs
