from .semanticmim_vit import (MaskedEncoding, SemanticMIMPretrainViT,
                              SemanticMIMViT)

__all__ = ['SemanticMIMViT', 'SemanticMIMPretrainViT', 'MaskedEncoding']
