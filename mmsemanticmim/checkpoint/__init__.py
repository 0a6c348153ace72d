"""Checkpoint files: reading them without running code, the encoder meta
they record, writing encoders and release files (as plain tensors and
containers), the checkpoints of a training run, and the converters (the
authors' code, timm, ONNX).

Models, the engine and the tools all go through this package; it reaches
models only through the registry (by name), never by import.
"""
from .encoder_file import EncoderCheckpoint, load_encoder_checkpoint
from .encoder_meta import (ARCH_KEYS, META_KEY, EncoderMeta,
                           HeadCountUnknownError)
from .onnx_export import check_encoder_onnx, export_encoder_onnx
from .reading import (CorruptCheckpointError, UnsafeCheckpointError,
                      read_checkpoint, register_checkpoint_loaders,
                      trust_checkpoint)
from .reference import ReferenceFormatError, convert_reference_checkpoint
from .timm_files import convert_timm_checkpoint, write_timm_checkpoint
from .weights_only import from_weights_only, to_weights_only
from .work_dir import (CheckpointMisfitError, ForeignCheckpointError,
                       is_readable_checkpoint, latest_checkpoint,
                       newest_readable_checkpoint)
from .writing import extract_encoder, publish_checkpoint

__all__ = [
    'read_checkpoint', 'trust_checkpoint', 'register_checkpoint_loaders',
    'UnsafeCheckpointError', 'CorruptCheckpointError', 'META_KEY', 'ARCH_KEYS',
    'EncoderMeta', 'HeadCountUnknownError', 'EncoderCheckpoint',
    'load_encoder_checkpoint', 'extract_encoder', 'publish_checkpoint',
    'ReferenceFormatError', 'convert_reference_checkpoint',
    'write_timm_checkpoint', 'convert_timm_checkpoint', 'export_encoder_onnx',
    'check_encoder_onnx', 'CheckpointMisfitError', 'ForeignCheckpointError',
    'is_readable_checkpoint', 'newest_readable_checkpoint',
    'latest_checkpoint', 'to_weights_only', 'from_weights_only'
]
