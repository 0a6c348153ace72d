from .dalle_encoder import FP32DALLEEncoder
from .patch_hog_generator import PatchHOGGenerator
from .patch_pixel_target import PatchPixelTarget

__all__ = ['PatchHOGGenerator', 'PatchPixelTarget', 'FP32DALLEEncoder']
