"""Training-time parts of rmt_mm: atomic checkpoint files and reliability hooks."""
from .fileio import (ATOMIC_BACKEND, AtomicLocalBackend, is_intact_checkpoint,
                     latest_intact_checkpoint)
from .hooks import FiniteLossHook, RandomStateHook

__all__ = ['ATOMIC_BACKEND', 'AtomicLocalBackend', 'FiniteLossHook', 'RandomStateHook',
           'is_intact_checkpoint', 'latest_intact_checkpoint']
