from .proxy_reconstruction_neck import ProxyReconstructionNeck
from .simple_fpn import SimpleFPN

__all__ = ['ProxyReconstructionNeck', 'SimpleFPN']
