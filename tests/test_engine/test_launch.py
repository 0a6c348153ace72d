"""Process-group set-up and tear-down every tool does."""
import torch.distributed as dist

from mmsemanticmim.engine.launch import close_distributed


def test_close_distributed_ends_the_group(tmp_path):
    """The tools end the group after a run (a gloo group left to
    interpreter exit can abort a rank that finished); without a group it
    is a no-op."""
    close_distributed()
    assert not dist.is_initialized()
    dist.init_process_group(
        'gloo', init_method=f'file://{tmp_path}/store', rank=0, world_size=1)
    assert dist.is_initialized()
    close_distributed()
    assert not dist.is_initialized()
