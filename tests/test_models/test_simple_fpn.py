"""ViTDet's SimpleFPN: the level strides it promises, and its errors."""
import pytest
import torch

from mmsemanticmim.models.necks.simple_fpn import SimpleFPN


def test_levels_from_one_stride16_map():
    fpn = SimpleFPN(
        backbone_channel=64,
        in_channels=[16, 32, 64, 64],
        out_channels=24,
        num_outs=5)
    fpn.init_weights()
    x = torch.randn(2, 64, 8, 12)  # a 128 x 192 image at stride 16
    outs = fpn((torch.randn(2, 64, 4, 4), x))  # only the last map is used
    # strides 4, 8, 16, 32, 64
    assert [tuple(o.shape) for o in outs] == [(2, 24, 32, 48), (2, 24, 16, 24),
                                              (2, 24, 8, 12), (2, 24, 4, 6),
                                              (2, 24, 2, 3)]
    # level 3 is the map itself through 1x1 + 3x3 convs: it depends only on
    # x (changing the other input changes nothing)
    again = fpn((torch.zeros(2, 64, 4, 4), x))
    assert all(torch.equal(a, b) for a, b in zip(outs, again))
    # the extra level is a stride-2 subsample of the last one
    assert torch.equal(outs[4], outs[3][:, :, ::2, ::2])


@pytest.mark.parametrize('kwargs', [
    dict(in_channels=[16, 32, 64]),
    dict(in_channels=[16, 32, 64, 64], num_outs=3),
])
def test_errors(kwargs):
    args = dict(
        backbone_channel=64, in_channels=[16, 32, 64, 64], out_channels=24)
    args.update(kwargs)
    with pytest.raises(ValueError, match='SimpleFPN builds 4 levels'):
        SimpleFPN(**args)
