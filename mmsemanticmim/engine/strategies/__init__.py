try:  # torch builds without torch.distributed.fsdp have no FSDPStrategy
    from .safe_fsdp_strategy import SafeFSDPStrategy
except ImportError:  # pragma: no cover
    SafeFSDPStrategy = None

__all__ = ['SafeFSDPStrategy']
