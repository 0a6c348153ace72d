from .masked_token_heads import MaskedRegressionHead, MaskedTokenClsHead

__all__ = ['MaskedTokenClsHead', 'MaskedRegressionHead']
