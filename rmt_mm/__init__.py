"""rmt_mm: the RMT vision backbone for OpenMMLab 2.0 (mmpretrain, mmdet, mmseg).

Importing it applies the few changes rmt_mm makes to mmengine and torch, all listed and
version-guarded in :mod:`rmt_mm.compat`.
"""
from . import compat
from .version import __version__

compat.apply()

__all__ = ['__version__']
