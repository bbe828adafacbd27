"""rmt_mm: the RMT vision backbone for OpenMMLab 2.0 (mmpretrain, mmdet, mmseg).

Importing it checks that Python, torch and the OpenMMLab packages are in the ranges rmt_mm is
tested with (:mod:`rmt_mm.version`), then applies the few changes rmt_mm makes to mmengine and
torch, all listed and version-guarded in :mod:`rmt_mm.compat`.
"""
from .version import __version__, check_stack

check_stack()

from . import compat  # noqa: E402  (after the check: it imports mmengine and torch)

compat.apply()

__all__ = ['__version__']
