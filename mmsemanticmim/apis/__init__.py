from .inference import (SemanticMIMFeatureExtractor, extract_features,
                        get_model, init_model, list_models, load_weights)
from .model_index import (load_model_index, model_index_path,
                          register_model_index)

__all__ = [
    'SemanticMIMFeatureExtractor', 'extract_features', 'get_model',
    'init_model', 'list_models', 'load_weights', 'load_model_index',
    'model_index_path', 'register_model_index'
]
