"""What the analysis tools draw and report: attention maps, attention and
representation reports, and the toy-scale and GPU studies built on them.

Imported on demand (``import mmsemanticmim`` does not): the figures need
matplotlib, the sample images scikit-image.
"""
from .attention_maps import (attention_rows, load_image, normalisation_of,
                             visualize)
from .attention_report import attention_report, checkpoint_statistics
from .attention_report import write_report as write_attention
from .report_files import (IMAGENET_NORM, add_image_args, checkpoint_names,
                           write_report_files)
from .representation_report import layer_report, representation_report
from .representation_report import write_report as write_representation

__all__ = [
    'attention_rows', 'load_image', 'normalisation_of', 'visualize',
    'attention_report', 'checkpoint_statistics', 'write_attention',
    'layer_report', 'representation_report', 'write_representation', 'IMAGENET_NORM',
    'add_image_args', 'checkpoint_names', 'write_report_files'
]
