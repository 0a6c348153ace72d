"""Mixed precision that picks its number format from the device."""
import logging
from contextlib import contextmanager
from typing import Optional, Union

import torch
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from mmsemanticmim.registry import OPTIM_WRAPPERS
from mmsemanticmim.utils.torch_features import cuda_native_bf16, grad_scaler


def default_amp_dtype(device_type: str,
                      cpu_autocast: bool = False) -> Optional[torch.dtype]:
    """bf16 on a CUDA device that supports it, else fp16 on CUDA; on the CPU
    bf16 when asked for (``cpu_autocast``), else None (fp32)."""
    if device_type == 'cuda':
        # native bf16 only (Ampere and later): emulated bf16 on older GPUs
        # is slow, fp16 with a loss scale is their format
        return torch.bfloat16 if cuda_native_bf16() else torch.float16
    return torch.bfloat16 if cpu_autocast else None


@OPTIM_WRAPPERS.register_module()
class DeviceAmpOptimWrapper(AmpOptimWrapper):
    """mmengine's ``AmpOptimWrapper`` with the precision chosen by the
    device, and usable on the CPU.

    Written here because mmengine's wrapper refuses the CPU (an assert on
    CUDA) and runs fp16 with a loss scaler on every GPU, even where bf16
    needs none. Here: bf16 autocast and no loss scaling on a bf16 GPU
    (Ampere and later); fp16 with a dynamic (or the configured) loss scale
    on older GPUs, FSDP's ``ShardedGradScaler`` under ``use_fsdp``; on the
    CPU fp32, or bf16 autocast with ``cpu_autocast=True`` (what
    ``tools/train.py --amp`` sets). An explicit ``dtype`` wins. The device
    is the process's: CUDA when available, else the CPU. The scaler
    is a disabled one when the format needs none, so ``backward``, ``step``
    and checkpoints are the parent's.

    Args:
        loss_scale (str | float | dict): As ``AmpOptimWrapper``; used with
            fp16 only. Defaults to 'dynamic'.
        dtype (str | torch.dtype, optional): Force a format ('bfloat16',
            'float16'). Defaults to None: chosen by the device.
        use_fsdp (bool): Shard-aware loss scaler (FSDP). Defaults to False.
        cpu_autocast (bool): bf16 autocast on the CPU. Defaults to False.
        **kwargs: ``OptimWrapper``'s (optimizer, clip_grad, ...).
    """

    def __init__(self,
                 loss_scale: Union[str, float, dict] = 'dynamic',
                 dtype: Union[str, torch.dtype, None] = None,
                 use_fsdp: bool = False,
                 cpu_autocast: bool = False,
                 **kwargs) -> None:
        # not AmpOptimWrapper.__init__: it asserts an accelerator
        OptimWrapper.__init__(self, **kwargs)
        self.device_type = 'cuda' if torch.cuda.is_available() else 'cpu'
        if isinstance(dtype, str):
            if dtype not in self.valid_dtypes:
                raise ValueError(f'optim_wrapper.dtype={dtype!r}: use one of '
                                 f'{self.valid_dtypes} or leave it unset.')
            dtype = getattr(torch, dtype)
        self.cast_dtype = dtype if dtype is not None else default_amp_dtype(
            self.device_type, cpu_autocast)
        if self.cast_dtype == torch.float16 and self.device_type == 'cpu':
            raise ValueError('optim_wrapper.dtype=float16 on the CPU: use '
                             'bfloat16 (or leave dtype unset).')
        if self.cast_dtype == torch.bfloat16 and self.device_type == 'cpu' \
                and not torch.ops.mkldnn._is_mkldnn_bf16_supported():
            # measured on a 2-core AVX2 machine: a ViT-B linear layer ran
            # 6.5x slower in bf16 than in fp32
            print_log(
                'This CPU has no native bf16 (no AVX512-BF16 / AMX): '
                'bf16 autocast is emulated here and slower than fp32. '
                'Drop --amp for speed.',
                logger='current',
                level=logging.WARNING)

        enabled = self.cast_dtype == torch.float16

        def scaler(**kw):
            return grad_scaler(
                self.device_type, sharded=use_fsdp, enabled=enabled, **kw)

        self._scale_update_param = None
        if loss_scale == 'dynamic':
            self.loss_scaler = scaler()
        elif isinstance(loss_scale, float):
            self._scale_update_param = loss_scale
            self.loss_scaler = scaler(init_scale=loss_scale)
        elif isinstance(loss_scale, dict):
            self.loss_scaler = scaler(**loss_scale)
        else:
            raise TypeError('optim_wrapper.loss_scale must be "dynamic", a '
                            f'float or a dict, not {loss_scale!r}')

    def load_state_dict(self, state_dict: dict) -> None:
        """As the parent, but a checkpoint saved without loss scaling
        (bf16 / fp32: an empty scaler state) resumes in fp16 too, with a
        fresh scale, and a scaler state is ignored where none is used."""
        scaler_state = state_dict.pop('loss_scaler', None)
        if scaler_state and self.loss_scaler.is_enabled():
            self.loss_scaler.load_state_dict(scaler_state)
        super().load_state_dict(state_dict)

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        """Gradient-accumulation context plus autocast in the chosen
        format (none for fp32)."""
        with OptimWrapper.optim_context(self, model), torch.autocast(
                self.device_type,
                dtype=self.cast_dtype or torch.bfloat16,
                enabled=self.cast_dtype is not None):
            yield
