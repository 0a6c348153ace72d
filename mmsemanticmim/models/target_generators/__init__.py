from .patch_hog_generator import PatchHOGGenerator

__all__ = ['PatchHOGGenerator']
