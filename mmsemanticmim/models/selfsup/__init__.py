from .semanticmim import SemanticMIM

__all__ = ['SemanticMIM']
