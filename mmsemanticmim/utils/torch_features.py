"""The one place where the supported torch releases differ.

The package runs on torch 2.1 (what OpenMMLab's prebuilt mmcv 2.1.0 wheels
are made for) up to the newest release mmcv's ops compile against. Each
helper here tests for the feature it needs (``hasattr`` / ``try``), never the
version, and everything else in the package calls these helpers instead of
the torch API that moved.
"""
import functools
import inspect
from typing import Callable, Dict, Tuple

import torch
import torch.nn.functional as F

#: ``torch.compiler.is_exporting`` (torch >= 2.3: True inside
#: ``torch.export`` / the dynamo ONNX exporter). Older torch exports ONNX
#: through TorchScript tracing, which ``torch.onnx.is_in_onnx_export`` tells.
#: Bound once at import so that compiled graphs see the same function.
is_exporting: Callable[[], bool] = getattr(
    getattr(torch, 'compiler', None), 'is_exporting',
    torch.onnx.is_in_onnx_export)


@functools.lru_cache(maxsize=None)
def fused_adamw_supported(device_type: str) -> bool:
    """Whether ``torch.optim.AdamW(fused=True)`` runs on ``device_type``.

    torch 2.1 has fused AdamW for CUDA only (it raises at construction on the
    CPU); CPU kernels came later. Tested with one step on a one-element
    parameter, once per device type.
    """
    try:
        p = torch.zeros(1, device=device_type, requires_grad=True)
        p.grad = torch.ones_like(p)
        torch.optim.AdamW([p], fused=True).step()
        return True
    except (RuntimeError, TypeError, NotImplementedError, ValueError):
        return False


def grad_scaler(device_type: str,
                sharded: bool = False,
                **kwargs) -> torch.cuda.amp.GradScaler:
    """A loss scaler for ``device_type``: ``torch.amp.GradScaler`` where
    torch has the device-generic one (>= 2.3), else the CUDA one (which,
    disabled, is also what a CPU run without fp16 needs). ``sharded``:
    FSDP's ``ShardedGradScaler``."""
    if sharded:
        from torch.distributed.fsdp.sharded_grad_scaler import \
            ShardedGradScaler
        return ShardedGradScaler(device=device_type, **kwargs)
    generic = getattr(getattr(torch, 'amp', None), 'GradScaler', None)
    if generic is not None:
        return generic(device_type, **kwargs)
    if device_type != 'cuda' and kwargs.get('enabled', True):
        raise RuntimeError(f'This torch has no loss scaler for '
                           f'{device_type!r}: use bf16 there.')
    return torch.cuda.amp.GradScaler(**kwargs)


def onnx_export_is_dynamo() -> bool:
    """Whether ``torch.onnx.export`` takes ``dynamo=True`` with
    ``torch.export.Dim`` shapes (torch >= 2.5); older torch traces through
    TorchScript with ``dynamic_axes``."""
    return 'dynamo' in inspect.signature(torch.onnx.export).parameters and \
        hasattr(getattr(torch, 'export', None), 'Dim')


def export_onnx(model: torch.nn.Module, x: torch.Tensor, out: str,
                dynamic: Dict[int, Tuple[str, int,
                                         int]], dynamic_out: Dict[int, str],
                opset: int, input_name: str, output_name: str) -> None:
    """Write ``model(x)`` to the ONNX file ``out``.

    Args:
        model (nn.Module): Module of one tensor in and one out.
        x (Tensor): Example input.
        out (str): Output path.
        dynamic (dict): Dynamic axes of ``x``: axis -> (name, multiple, max
            count); the axis' size is ``multiple * n`` for 1 <= n <= max.
        opset (int): ONNX opset.
        input_name (str): Graph input name.
        output_name (str): Graph output name.
    """
    names = dict(input_names=[input_name], output_names=[output_name])
    if onnx_export_is_dynamo():
        dims = {}
        for axis, (name, multiple, count) in dynamic.items():
            dim = torch.export.Dim(name, min=1, max=count)
            dims[axis] = dim * multiple if multiple > 1 else dim
        torch.onnx.export(
            model, (x, ),
            out,
            dynamic_shapes=(dims, ),
            opset_version=opset,
            external_data=False,
            dynamo=True,
            **names)
    else:
        torch.onnx.export(
            model, (x, ),
            out,
            opset_version=opset,
            dynamic_axes={
                input_name: {
                    a: n
                    for a, (n, _, _) in dynamic.items()
                },
                output_name: dynamic_out
            },
            **names)


def default_onnx_opset() -> int:
    """The opset the available exporter writes by default: 18 for the
    dynamo exporter, 17 (the newest torch 2.1's TorchScript exporter fully
    supports) otherwise."""
    return 18 if onnx_export_is_dynamo() else 17


#: The out-of-memory error of any device (torch >= 2.5: ``torch``'s own;
#: before, the CUDA one).
OutOfMemoryError = getattr(torch, 'OutOfMemoryError',
                           torch.cuda.OutOfMemoryError)


def cuda_native_bf16() -> bool:
    """Whether the CUDA device computes bf16 in hardware (Ampere and
    later), not emulated. torch >= 2.4 separates the two with
    ``including_emulation``; older torch's ``is_bf16_supported`` reports
    the hardware alone (compute capability >= 8)."""
    try:
        return torch.cuda.is_bf16_supported(including_emulation=False)
    except TypeError:
        return torch.cuda.is_bf16_supported()


def autocast_enabled(device_type: str) -> bool:
    """Whether autocast is on for ``device_type``: torch >= 2.4 takes the
    device; older torch has one function per device."""
    try:
        return torch.is_autocast_enabled(device_type)
    except TypeError:
        if device_type == 'cpu':
            return torch.is_autocast_cpu_enabled()
        return torch.is_autocast_enabled()


def _sdpa_without_cpu_flash(q: torch.Tensor,
                            k: torch.Tensor,
                            v: torch.Tensor,
                            dropout_p: float = 0.) -> torch.Tensor:
    """SDPA that avoids the CPU flash kernel for bf16 training.

    torch 2.1's CPU flash-attention backward corrupts memory in bf16
    ("double free or corruption", pytorch/pytorch#132871; a oneDNN bug,
    pytorch/pytorch#115253); that torch predates the kernel-choice API
    ``torch.nn.attention.sdpa_kernel``, which is how it is recognised here.
    There, bf16 CPU calls with gradients take the math kernel (the same
    arithmetic, unfused); everything else is the stock call.
    """
    if q.device.type == 'cpu' and q.dtype == torch.bfloat16 and \
            torch.is_grad_enabled():
        with torch.backends.cuda.sdp_kernel(
                enable_flash=False, enable_math=True,
                enable_mem_efficient=False):
            return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)
    return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)


#: ``F.scaled_dot_product_attention(q, k, v, dropout_p=...)``: the stock
#: function wherever torch has the kernel-choice API (its CPU flash kernel
#: is sound), else :func:`_sdpa_without_cpu_flash`.
def _has_sdpa_kernel_choice() -> bool:
    try:
        from torch.nn.attention import sdpa_kernel  # noqa: F401
        return True
    except ImportError:
        return False


scaled_dot_product_attention: Callable[..., torch.Tensor] = \
    F.scaled_dot_product_attention if _has_sdpa_kernel_choice() \
    else _sdpa_without_cpu_flash


@functools.lru_cache(maxsize=None)
def fsdp_runs_on_cpu() -> bool:
    """Whether this torch's FSDP can run on the CPU: its root creates
    streams on the device (``torch.cpu.Stream(priority=...)``), which torch
    2.1's CPU module cannot ("Stream() takes no arguments")."""
    try:
        torch.cpu.Stream(priority=0)
        return True
    except (AttributeError, TypeError, RuntimeError):
        return False


def check_fsdp_device(what: str) -> None:
    """Refuse, before any work, FSDP on a CPU-only machine whose torch
    cannot shard there.

    Args:
        what (str): What asked for FSDP, for the message.

    Raises:
        RuntimeError: Without CUDA and without CPU FSDP support.
    """
    if not torch.cuda.is_available() and not fsdp_runs_on_cpu():
        raise RuntimeError(
            f'{what}: FSDP on the CPU needs a torch whose FSDP runs there '
            f'(torch {torch.__version__} creates CUDA-style streams that its '
            'CPU module lacks). Train on a GPU, without --fsdp (DDP), or '
            'with the default stack (make test).')
