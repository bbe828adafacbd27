from .dwconv import DWConv2d
from .masa import ATTN_IMPLS, MaSA, RelPos2d

__all__ = ['ATTN_IMPLS', 'DWConv2d', 'MaSA', 'RelPos2d']
