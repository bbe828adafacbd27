from .dwconv import DWConv2d
from .masa import ATTN_IMPLS, MaSA, RelPos2d
from .residual import DropPathResidual

__all__ = ['ATTN_IMPLS', 'DWConv2d', 'DropPathResidual', 'MaSA', 'RelPos2d']
