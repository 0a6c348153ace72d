from .proxy_reconstruction_neck import ProxyReconstructionNeck

__all__ = ['ProxyReconstructionNeck']
