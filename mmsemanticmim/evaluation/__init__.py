from .attention_stats import (attention_distance, attention_entropy,
                              attention_statistics, patch_distances,
                              proxy_attention_share)
from .frozen_features import (class_folders, evaluate_class_folder,
                              evaluate_frozen,
                              extract_features, image_folder_batches,
                              linear_probe_accuracy, load_frozen_encoder,
                              tsne_plot)
from .knn import knn_accuracy, knn_predict
from .layer_probes import (FEATURE_KINDS, best_record, extract_layer_features,
                           feature_of, probe_layers)

__all__ = [
    'knn_predict', 'knn_accuracy', 'class_folders', 'extract_features',
    'evaluate_class_folder',
    'image_folder_batches', 'linear_probe_accuracy', 'evaluate_frozen',
    'tsne_plot', 'load_frozen_encoder', 'FEATURE_KINDS',
    'extract_layer_features', 'feature_of', 'probe_layers', 'best_record',
    'patch_distances', 'attention_distance', 'attention_entropy',
    'proxy_attention_share', 'attention_statistics'
]
