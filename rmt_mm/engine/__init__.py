"""Training-time parts of rmt_mm: atomic checkpoint files, the hooks every config uses, and the
official ImageNet schedule, EMA and evaluation."""
from .ema import BatchScaledEMAHook, RawAndEMAValLoop
from .fileio import (
                     ATOMIC_BACKEND,
                     AtomicLocalBackend,
                     is_intact_checkpoint,
                     latest_intact_checkpoint,
)
from .hooks import FiniteLossHook, ProgressBarHook, RandomStateHook
from .schedulers import TimmCosineLR

__all__ = ['ATOMIC_BACKEND', 'AtomicLocalBackend', 'BatchScaledEMAHook', 'FiniteLossHook',
           'ProgressBarHook', 'RandomStateHook', 'RawAndEMAValLoop', 'TimmCosineLR',
           'is_intact_checkpoint', 'latest_intact_checkpoint']
