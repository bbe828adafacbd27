"""Training-time parts of rmt_mm: atomic checkpoint files and the hooks every config uses."""
from .fileio import (ATOMIC_BACKEND, AtomicLocalBackend, is_intact_checkpoint,
                     latest_intact_checkpoint)
from .hooks import FiniteLossHook, ProgressBarHook, RandomStateHook

__all__ = ['ATOMIC_BACKEND', 'AtomicLocalBackend', 'FiniteLossHook', 'ProgressBarHook',
           'RandomStateHook', 'is_intact_checkpoint', 'latest_intact_checkpoint']
