"""Training-time parts of rmt_mm: atomic checkpoint files, the hooks every config uses, and the
official ImageNet schedule, EMA and evaluation.

Names are imported on first use (PEP 562), so that ``import rmt_mm``, which registers the
atomic file backend (:mod:`.fileio`), does not import mmengine's hooks, model and optimizer
layers; the registries find the hooks, loops and schedulers through their ``locations``.
"""
import importlib

_HOMES = {
    'BatchScaledEMAHook': 'ema', 'RawAndEMAValLoop': 'ema',
    'ATOMIC_BACKEND': 'fileio', 'AtomicLocalBackend': 'fileio',
    'is_intact_checkpoint': 'fileio', 'latest_intact_checkpoint': 'fileio',
    'FiniteLossHook': 'hooks', 'ProgressBarHook': 'hooks', 'RandomStateHook': 'hooks',
    'TimmCosineLR': 'schedulers', 'LayerDecayOptimWrapperConstructor': 'optim',
}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    return getattr(importlib.import_module(f'{__name__}.{_HOMES[name]}'), name)


def __dir__():
    return sorted(set(globals()) | set(_HOMES))
