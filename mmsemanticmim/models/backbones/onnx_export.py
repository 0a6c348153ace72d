"""ONNX export of the downstream encoder, checked with onnxruntime (the
library side of ``tools/deployment/export_onnx.py``)."""
import warnings
from typing import Optional

import numpy as np
import torch

from mmsemanticmim.utils.output_files import (refuse_overwriting_input,
                                              written_atomically)
from mmsemanticmim.utils.torch_features import (default_onnx_opset,
                                                export_onnx,
                                                onnx_export_is_dynamo)
from .checkpoint_meta import load_encoder_checkpoint
from .semanticmim_vit import SemanticMIMViT


class _Export(torch.nn.Module):
    """One tensor out (the encoder returns a tuple)."""

    def __init__(self, encoder: SemanticMIMViT) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)[-1]


def build_encoder(ckpt: str, img_size=None, out_type: str = 'featmap'):
    """The downstream encoder of ``ckpt`` in eval mode, loaded strictly."""
    info = load_encoder_checkpoint(ckpt)
    state, meta = info.state, info.meta
    if out_type in ('avg_featmap', 'cls_token') and 'ln2.weight' not in state:
        raise ValueError(
            f'{ckpt} has no pooling norm (ln2: a pre-training or extracted '
            f'checkpoint), so out_type={out_type!r} would export an '
            "untrained norm: use --out-type featmap or raw.")
    overrides = dict(out_type=out_type, final_norm='ln1.weight' in state)
    if img_size is not None:
        overrides['img_size'] = img_size
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # head count warning, said below
        encoder = SemanticMIMViT.from_checkpoint(ckpt, **overrides)
    if not meta.heads_recorded:
        print(f'warning: {ckpt} does not record its head count; assuming '
              f'{meta.heads}.')
    return encoder.eval()


def export(ckpt: str, out: str, img_size=None, dynamic_size: bool = False,
           out_type: str = 'featmap', opset: Optional[int] = None
           ) -> SemanticMIMViT:
    """Write ``out``; returns the PyTorch encoder it was made from."""
    if onnx_export_is_dynamo():
        try:
            import onnxscript  # noqa: F401  (torch.onnx's dynamo exporter)
        except ImportError:
            raise ImportError(
                'onnxscript is missing: pip install onnx onnxscript '
                'onnxruntime (or pip install -e .[optional])')
    refuse_overwriting_input([out], [ckpt])
    encoder = build_encoder(ckpt, img_size, out_type)
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
        export_onnx(model, x, tmp, dims, dims_out,
                    default_onnx_opset() if opset is None else opset,
                    input_name='images', output_name='features')
    return encoder


def check(encoder: SemanticMIMViT, out: str, sizes, atol: float) -> float:
    """Largest |onnxruntime - PyTorch| over inputs of ``sizes``."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise ImportError('onnxruntime is missing: pip install onnxruntime')
    sess = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    worst = 0.
    for B, H, W in sizes:
        x = torch.randn(B, 3, H, W)
        with torch.no_grad():
            ref = encoder(x)[-1].numpy()
        got = sess.run(None, {'images': x.numpy()})[0]
        if got.shape != ref.shape:
            raise AssertionError(f'ONNX output {got.shape} != PyTorch '
                                 f'{ref.shape} at input {(B, 3, H, W)}')
        err = float(np.abs(got - ref).max())
        print(f'input {(B, 3, H, W)}: max |onnx - torch| = {err:.2e}')
        worst = max(worst, err)
    if worst > atol:
        raise AssertionError(f'{out} differs from PyTorch by {worst:.2e} > '
                             f'{atol}')
    return worst
