"""mmengine's FSDPStrategy with what version 0.10.7 gets wrong fixed."""
import torch
from mmengine.registry import STRATEGIES

from ..mmengine_private import CPUCapableFSDPStrategy


@STRATEGIES.register_module()
class SafeFSDPStrategy(CPUCapableFSDPStrategy):
    """``FSDPStrategy`` that trains, clips and resumes (``build_runner``
    uses it wherever a config names ``FSDPStrategy``).

    - ``load_optim_state_dict`` called ``FSDP.optim_state_dict_to_load(osd,
      model, optim)``, torch 2.0's argument order; torch >= 2.1 takes
      ``(model, optim, osd)`` (pytorch/pytorch#123952 documents the order),
      so resuming a full optimizer state failed with ``unhashable type``.
    - without CUDA, FSDP is built on the CPU and gathers a full state
      without offload (:class:`CPUCapableFSDPStrategy`).
    - the optimizer wrapper clips each rank's shard by that shard's own norm
      (``torch.nn.utils.clip_grad_norm_`` over ``use_orig_params`` views):
      here the global norm (``FullyShardedDataParallel.clip_grad_norm_``),
      as unsharded training clips.
    """

    def load_optim_state_dict(self, state_dict: dict) -> None:
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
        osd = FSDP.optim_state_dict_to_load(self.model,
                                            self.optim_wrapper.optimizer,
                                            state_dict)
        self.optim_wrapper.load_state_dict(osd)

    def build_optim_wrapper(self, optim_wrapper, model=None):
        wrapper = super().build_optim_wrapper(optim_wrapper, model)
        fsdp_model = model if model is not None else self.model
        if getattr(wrapper, 'clip_func', None) is \
                torch.nn.utils.clip_grad_norm_:

            def clip(params, max_norm, norm_type=2.0, **kwargs):
                return fsdp_model.clip_grad_norm_(max_norm, norm_type)

            wrapper.clip_func = clip
        return wrapper
