from .loading import StrictLoadImageFromFile
from .mask_generator import SemanticMIMMaskGenerator

__all__ = ['SemanticMIMMaskGenerator', 'StrictLoadImageFromFile']
