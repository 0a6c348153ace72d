"""Imported by the distributed test runs (custom_imports): a mask generator
whose draw depends on the image alone, so a sample gets the same mask
whichever rank or process loads it."""
import zlib

import numpy as np

from mmsemanticmim.datasets import SemanticMIMMaskGenerator
from mmsemanticmim.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PathSeededMaskGenerator(SemanticMIMMaskGenerator):
    """:class:`SemanticMIMMaskGenerator` seeded by the image path (tests)."""

    def transform(self, results: dict) -> dict:
        state = np.random.get_state()
        np.random.seed(zlib.crc32(results['img_path'].encode()))
        try:
            return super().transform(results)
        finally:
            np.random.set_state(state)


def layer_decay_under_fsdp(work_dir: str) -> None:
    """Run by torchrun (2 processes): build a classifier on our encoder
    under (our fixed) mmengine FSDPStrategy with the layer-decay
    constructor and print (rank 0) each parameter group's lr, weight decay
    and local size as JSON."""
    import json

    from mmsemanticmim.engine import SafeFSDPStrategy, init_distributed
    from mmsemanticmim.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    init_distributed('pytorch')
    strategy = SafeFSDPStrategy(
        model_wrapper=dict(
            type='MMFullyShardedDataParallel', use_orig_params=True),
        state_dict_cfg='full',
        work_dir=work_dir,
        env_kwargs=dict(launcher='pytorch', dist_cfg=dict(backend='gloo')))
    model = dict(
        type='mmpretrain.ImageClassifier',
        backbone=dict(
            type='SemanticMIMViT',
            arch=dict(
                embed_dims=96,
                num_layers=4,
                num_heads=3,
                feedforward_channels=384),
            img_size=32,
            patch_size=4,
            num_proxy_tokens=2),
        head=dict(
            type='mmpretrain.LinearClsHead', num_classes=3, in_channels=96))
    _, optim = strategy.prepare(
        model,
        optim_wrapper=dict(
            optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.05),
            constructor='mmsemanticmim.LayerDecayOptimWrapperConstructor',
            paramwise_cfg=dict(
                layer_decay_rate=0.5,
                custom_keys={
                    '.bias': dict(decay_mult=0.),
                    '.proxy_tokens': dict(decay_mult=0.)
                })))
    import torch.distributed as dist
    if dist.get_rank() == 0:
        print(
            json.dumps({
                g['param_name']: [
                    g['lr'], g['weight_decay'],
                    sum(p.numel() for p in g['params'])
                ]
                for g in optim.optimizer.param_groups
            }))


if __name__ == '__main__':
    import sys
    layer_decay_under_fsdp(sys.argv[1])
