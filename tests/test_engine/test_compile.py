"""``CompileForwardHook``: torch.compile of the model's forward."""
import numpy as np

from mmsemanticmim.engine import build_runner
from helpers import TINY_CONFIGS, tiny_cfg


def test_compile_forward_hook_trains_like_eager(tmp_path, image_folder):
    """``CompileForwardHook`` on the tiny config: the forward is compiled
    (dynamo builds graphs) and the run's losses equal the eager run's from
    the same seed (float tolerance: inductor fuses and reorders)."""
    import torch._dynamo
    losses = {}
    for compiled in (False, True):
        torch._dynamo.reset()
        torch._dynamo.utils.counters.clear()
        cfg = tiny_cfg(
            TINY_CONFIGS['maskfeat'],
            image_folder,
            str(tmp_path / str(compiled)),
            max_epochs=1,
            batch_size=8)
        cfg.randomness = dict(seed=0)
        # the runner's MessageHub is named after the experiment, which
        # defaults to a timestamp: two runs in the same second would share
        # one loss history
        cfg.experiment_name = f'test_compile_{compiled}_{tmp_path.name}'
        if compiled:
            cfg.custom_hooks = list(cfg.get(
                'custom_hooks', [])) + [dict(type='CompileForwardHook')]
        runner = build_runner(cfg)
        runner.train()
        losses[compiled] = runner.message_hub.get_scalar(
            'train/loss').data[0].copy()
        forward = runner.model.forward
        assert hasattr(forward, '_torchdynamo_orig_callable') == compiled
        graphs = torch._dynamo.utils.counters['stats']['unique_graphs']
        assert (graphs > 0) == compiled
    assert len(losses[True]) == len(losses[False]) >= 2
    np.testing.assert_allclose(losses[True], losses[False], rtol=1e-4)
    torch._dynamo.reset()
