"""mmengine's FSDPStrategy with what version 0.10.7 gets wrong fixed."""
import torch
from mmengine._strategy import FSDPStrategy
from mmengine.registry import STRATEGIES


@STRATEGIES.register_module()
class SafeFSDPStrategy(FSDPStrategy):
    """``FSDPStrategy`` that trains, clips and resumes (``build_runner``
    uses it wherever a config names ``FSDPStrategy``).

    - ``load_optim_state_dict`` called ``FSDP.optim_state_dict_to_load(osd,
      model, optim)``, torch 2.0's argument order; torch >= 2.1 takes
      ``(model, optim, osd)`` (pytorch/pytorch#123952 documents the order),
      so resuming a full optimizer state failed with ``unhashable type``.
    - ``_wrap_model`` passes ``device_id=LOCAL_RANK``, a CUDA device; without
      CUDA torch's FSDP raises "Cannot access accelerator device" (no
      upstream issue found): ``device_id='cpu'`` there.
    - ``state_dict_cfg='full'`` asks FSDP to offload the gathered state to
      the CPU; on a CPU-only machine (tensors already there) torch 2.13's
      ``FSDP.optim_state_dict`` then crashes rank 0 with a segmentation
      fault (no upstream issue found): gather without offload there.
    - the optimizer wrapper clips each rank's shard by that shard's own norm
      (``torch.nn.utils.clip_grad_norm_`` over ``use_orig_params`` views):
      here the global norm (``FullyShardedDataParallel.clip_grad_norm_``),
      as unsharded training clips.
    """

    def load_optim_state_dict(self, state_dict: dict) -> None:
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
        osd = FSDP.optim_state_dict_to_load(
            self.model, self.optim_wrapper.optimizer, state_dict)
        self.optim_wrapper.load_state_dict(osd)

    def _wrap_model(self, model):
        if not torch.cuda.is_available():
            self.model_wrapper = dict(self.model_wrapper or dict(
                type='MMFullyShardedDataParallel'))
            self.model_wrapper.setdefault('device_id', 'cpu')
        return super()._wrap_model(model)

    def build_optim_wrapper(self, optim_wrapper, model=None):
        wrapper = super().build_optim_wrapper(optim_wrapper, model)
        fsdp_model = model if model is not None else self.model
        if getattr(wrapper, 'clip_func', None) is \
                torch.nn.utils.clip_grad_norm_:

            def clip(params, max_norm, norm_type=2.0, **kwargs):
                return fsdp_model.clip_grad_norm_(max_norm, norm_type)

            wrapper.clip_func = clip
        return wrapper

    def _init_state_dict_cfg(self, state_dict_cfg):
        super()._init_state_dict_cfg(state_dict_cfg)
        if state_dict_cfg == 'full' and not torch.cuda.is_available():
            self.state_dict_config.offload_to_cpu = False
            self.optim_state_dict_config.offload_to_cpu = False
