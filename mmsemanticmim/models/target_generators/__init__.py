from .patch_hog_generator import PatchHOGGenerator
from .patch_pixel_target import PatchPixelTarget

__all__ = ['PatchHOGGenerator', 'PatchPixelTarget']
