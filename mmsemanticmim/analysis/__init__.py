"""The analysis of a checkpoint's encoder: frozen-feature evaluation (k-NN,
linear and layer-wise probes, t-SNE), attention statistics and maps, and the
attention and representation reports the analysis tools write.

Imported on demand (``import mmsemanticmim`` does not): the figures need
matplotlib, the sample images scikit-image.
"""
from .attention_maps import (attention_rows, load_image, normalisation_of,
                             visualize)
from .attention_report import attention_report, checkpoint_statistics
from .attention_report import write_report as write_attention
from .attention_stats import (attention_distance, attention_entropy,
                              attention_statistics, patch_distances,
                              proxy_attention_share)
from .frozen_features import (class_folders, evaluate_class_folder,
                              evaluate_frozen, extract_features,
                              image_folder_batches, linear_probe_accuracy,
                              load_frozen_encoder, tsne_plot)
from .knn import knn_accuracy, knn_predict
from .layer_probes import (FEATURE_KINDS, best_record, extract_layer_features,
                           feature_of, probe_layers)
from .report_files import (IMAGENET_NORM, add_image_args, checkpoint_names,
                           write_report_files)
from .representation_report import layer_report, representation_report
from .representation_report import write_report as write_representation

__all__ = [
    'knn_predict', 'knn_accuracy', 'class_folders', 'extract_features',
    'evaluate_class_folder', 'image_folder_batches', 'linear_probe_accuracy',
    'evaluate_frozen', 'tsne_plot', 'load_frozen_encoder', 'FEATURE_KINDS',
    'extract_layer_features', 'feature_of', 'probe_layers', 'best_record',
    'patch_distances', 'attention_distance', 'attention_entropy',
    'proxy_attention_share', 'attention_statistics', 'attention_rows',
    'load_image', 'normalisation_of', 'visualize', 'attention_report',
    'checkpoint_statistics', 'write_attention', 'layer_report',
    'representation_report', 'write_representation', 'IMAGENET_NORM',
    'add_image_args', 'checkpoint_names', 'write_report_files'
]
