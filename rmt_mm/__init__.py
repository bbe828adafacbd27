"""rmt_mm: the RMT vision backbone for OpenMMLab 2.0 (mmpretrain, mmdet, mmseg)."""
from .utils.checkpoint import register_safe_globals
from .version import __version__

# mmengine's Runner checkpoints must resume under torch's weights_only=True default.
register_safe_globals()

__all__ = ['__version__']
