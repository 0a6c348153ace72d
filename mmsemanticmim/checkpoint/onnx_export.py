"""ONNX export of the downstream encoder, checked with onnxruntime (the
library side of ``tools/deployment/export_onnx.py``)."""
from typing import Dict, Optional, Tuple

import numpy as np
import torch

from mmsemanticmim.registry import MODELS
from mmsemanticmim.utils.output_files import (refuse_overwriting_input,
                                              written_atomically)
from mmsemanticmim.utils.torch_features import (default_onnx_opset,
                                                export_onnx,
                                                onnx_export_is_dynamo)
from .encoder_file import load_encoder_checkpoint


class _Export(torch.nn.Module):
    """One tensor out (the encoder returns a tuple)."""

    def __init__(self, encoder: torch.nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)[-1]


def build_export_encoder(ckpt: str,
                         img_size=None,
                         out_type: str = 'featmap',
                         num_heads: Optional[int] = None) -> torch.nn.Module:
    """The downstream encoder of ``ckpt`` in eval mode, loaded strictly
    (``num_heads`` for a file that does not record it)."""
    state = load_encoder_checkpoint(ckpt, mmap=True).state
    if out_type in ('avg_featmap', 'cls_token') and 'ln2.weight' not in state:
        raise ValueError(
            f'{ckpt} has no pooling norm (ln2: a pre-training or extracted '
            f'checkpoint), so out_type={out_type!r} would export an '
            "untrained norm: use --out-type featmap or raw.")
    overrides = dict(out_type=out_type, final_norm='ln1.weight' in state)
    if img_size is not None:
        overrides['img_size'] = img_size
    # by name: the checkpoint package imports no model
    encoder = MODELS.get('SemanticMIMViT').from_checkpoint(
        ckpt, num_heads=num_heads, **overrides)
    return encoder.eval()


def export_encoder_onnx(ckpt: str,
                        out: str,
                        img_size=None,
                        dynamic_size: bool = False,
                        out_type: str = 'featmap',
                        opset: Optional[int] = None,
                        num_heads: Optional[int] = None) -> torch.nn.Module:
    """Write ``out``; returns the PyTorch encoder it was made from."""
    if onnx_export_is_dynamo():
        try:
            import onnxscript  # noqa: F401  (torch.onnx's dynamo exporter)
        except ImportError:
            raise ImportError(
                'onnxscript is missing: pip install onnx onnxscript '
                'onnxruntime (or pip install -e .[optional])')
    refuse_overwriting_input([out], [ckpt])
    encoder = build_export_encoder(ckpt, img_size, out_type, num_heads)
    model = _Export(encoder)
    H, W = encoder.img_size
    p = encoder.patch_size
    x = torch.randn(2, 3, H, W)
    dims = {0: ('batch', 1, 1024)}
    dims_out = {0: 'batch'}
    if dynamic_size:
        dims[2] = ('height', p, 256)
        dims[3] = ('width', p, 256)
        if out_type == 'featmap':
            dims_out.update({2: 'grid_h', 3: 'grid_w'})
        elif out_type == 'raw':
            dims_out[1] = 'tokens'
    with torch.no_grad(), written_atomically(out) as tmp:
        export_onnx(
            model,
            x,
            tmp,
            dims,
            dims_out,
            default_onnx_opset() if opset is None else opset,
            input_name='images',
            output_name='features')
    return encoder


def check_encoder_onnx(encoder: torch.nn.Module, out: str, sizes,
                       atol: float) -> Dict[Tuple[int, int, int], float]:
    """|onnxruntime - PyTorch| (the largest element) for an input of each
    of ``sizes`` (``(B, H, W)``).

    Raises:
        AssertionError: An output shape differs, or an error exceeds
            ``atol``.
    """
    try:
        import onnxruntime as ort
    except ImportError:
        raise ImportError('onnxruntime is missing: pip install onnxruntime')
    sess = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    errors = {}
    for B, H, W in sizes:
        x = torch.randn(B, 3, H, W)
        with torch.no_grad():
            ref = encoder(x)[-1].numpy()
        got = sess.run(None, {'images': x.numpy()})[0]
        if got.shape != ref.shape:
            raise AssertionError(f'ONNX output {got.shape} != PyTorch '
                                 f'{ref.shape} at input {(B, 3, H, W)}')
        errors[(B, H, W)] = float(np.abs(got - ref).max())
    worst = max(errors.values())
    if worst > atol:
        raise AssertionError(f'{out} differs from PyTorch by {worst:.2e} > '
                             f'{atol}')
    return errors
