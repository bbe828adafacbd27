from .masa import ATTN_IMPLS, MaSA, RelPos2d

__all__ = ['ATTN_IMPLS', 'MaSA', 'RelPos2d']
