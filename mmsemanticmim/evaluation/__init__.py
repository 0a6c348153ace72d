from .frozen_features import (evaluate_frozen, extract_features,
                              linear_probe_accuracy, tsne_plot)
from .knn import knn_accuracy, knn_predict

__all__ = [
    'knn_predict', 'knn_accuracy', 'extract_features',
    'linear_probe_accuracy', 'evaluate_frozen', 'tsne_plot'
]
