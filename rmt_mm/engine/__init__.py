"""Training-time parts of rmt_mm: the hooks every config uses, the official ImageNet schedule,
EMA and evaluation, and layer-wise learning-rate decay (where mmpretrain is installed: it
extends mmpretrain's constructor). The registries find them through their ``locations``.
"""
import importlib.util

from .ema import BatchScaledEMAHook, RawAndEMAValLoop
from .hooks import FiniteLossHook, ProgressBarHook, RandomStateHook
from .schedulers import TimmCosineLR

__all__ = ['BatchScaledEMAHook', 'RawAndEMAValLoop', 'FiniteLossHook', 'ProgressBarHook',
           'RandomStateHook', 'TimmCosineLR']

if importlib.util.find_spec('mmpretrain') is not None:
    from .optim import LayerDecayOptimWrapperConstructor
    __all__ += ['LayerDecayOptimWrapperConstructor']
