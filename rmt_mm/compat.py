"""Everything ``import rmt_mm`` changes outside rmt_mm, in one place.

:func:`apply` runs once at import. Each patch is guarded by the versions it was written for and
by a check of the code it changes; when either differs, it raises :class:`CompatError`
naming the patch, what changed and what to do, instead of patching something it does not know.

1. ``config_scope`` (mmengine 0.10): configs may inherit ours as ``_base_ = 'rmt_mm::det/...'``.
   mmengine knows a fixed table of packages (``mmengine.config.utils.MODULE2PACKAGE``, gains
   ``'rmt_mm'``) and finds a package's configs through its distribution's location, which is
   wrong for editable installs; its private ``mmengine.config.config.get_installed_path`` is
   wrapped to answer this package's folder for ``rmt_mm`` (every other package unchanged).
2. ``weights_only_allow_list`` (torch >= 2.6): mmengine 0.10 calls ``torch.load`` without
   ``weights_only``, which torch >= 2.6 defaults to True, so its Runner checkpoints (message
   hub ``HistoryBuffer`` objects with numpy arrays) would not resume. Instead of turning
   ``weights_only`` off, exactly the classes those checkpoints contain are allow-listed
   (:func:`safe_globals`); anything else is still refused.
3. ``history_buffer_state`` (mmengine 0.10): ``HistoryBuffer.__getstate__`` pickles the
   class's statistics methods through ``builtins.getattr``, which would have to be
   allow-listed too; they are class attributes every process registers on import, so the
   replacement leaves them out of the state.
4. ``atomic_file_backend`` (mmengine 0.10): the file backend ``rmt_mm_atomic_local``
   (:mod:`rmt_mm.engine.fileio`) is registered through mmengine's public ``register_backend``;
   listed here because it adds a name to a global table.
5. ``sdpa_flop_count`` (mmengine 0.10): mmengine's FLOP counter has no handle for
   ``aten::scaled_dot_product_attention``, the kernel MaSA runs on, and skips it, so every
   counter built on ``mmengine.analysis`` (mmdet's, mmseg's and mmpretrain's get_flops)
   would leave out the attention products. A handle is added to its private table of
   default handles (``_DEFAULT_SUPPORTED_FLOP_OPS``): q k^T and attention x v, one
   multiply-add per FLOP, as its own matmul handle counts them.
6. ``mmpretrain_model_hub`` (mmpretrain 1.x): our ImageNet models are registered with
   mmpretrain's ``ModelHub`` (its public ``register_model_index``, with
   ``configs/cls/metafile.yml``), so ``mmpretrain.list_models('*rmt*')``, ``get_model`` and
   ``inference_model`` know them by name. Once per process; skipped when the packaged
   configs (``rmt_mm/.mim``) or mmpretrain itself are absent.
"""
import os.path as osp

PATCHES = ('config_scope', 'weights_only_allow_list', 'history_buffer_state',
           'atomic_file_backend', 'sdpa_flop_count', 'mmpretrain_model_hub')
MMENGINE_WRITTEN_FOR = '0.10.'
TORCH_AT_LEAST = (2, 6)


class CompatError(RuntimeError):
    """A patch of :mod:`rmt_mm.compat` meets code it was not written for."""


def _torch_version() -> tuple:
    import torch
    return tuple(int(p) for p in torch.__version__.split('+')[0].split('.')[:2])


def check_versions(mmengine_version: str = None, torch_version: tuple = None) -> None:
    """Raise CompatError unless mmengine 0.10.x and torch >= 2.6 are the versions in use."""
    import mmengine
    mmengine_version = mmengine_version or mmengine.__version__
    torch_version = torch_version or _torch_version()
    if not mmengine_version.startswith(MMENGINE_WRITTEN_FOR):
        raise CompatError(
            f'rmt_mm.compat patches {PATCHES} were written for mmengine '
            f'{MMENGINE_WRITTEN_FOR}x, found {mmengine_version}: install mmengine==0.10.7 (the '
            f'pinned stack, tools/setup_env.sh) or review rmt_mm/compat.py for this version')
    if torch_version < TORCH_AT_LEAST:
        raise CompatError(
            f'rmt_mm.compat patch weights_only_allow_list needs torch >= 2.6 '
            f'(torch.serialization.add_safe_globals), found {torch_version}')


def patch_config_scope() -> None:
    import mmengine.config.config as config_module
    from mmengine.config.utils import MODULE2PACKAGE
    find_package = getattr(config_module, 'get_installed_path', None)
    if not callable(find_package):
        raise CompatError('rmt_mm.compat patch config_scope: mmengine.config.config has no '
                          'get_installed_path any more; `rmt_mm::` configs need a new hook')
    if getattr(find_package, 'rmt_mm_aware', False):
        return
    MODULE2PACKAGE.setdefault('rmt_mm', 'rmt_mm')
    here = osp.dirname(osp.abspath(__file__))

    def get_installed_path(package: str) -> str:
        return here if package == 'rmt_mm' else find_package(package)

    get_installed_path.rmt_mm_aware = True
    get_installed_path.wrapped = find_package
    config_module.get_installed_path = get_installed_path


def safe_globals() -> list:
    """The globals an mmengine Runner checkpoint needs beyond torch's defaults.

    The message hub's ``HistoryBuffer`` objects hold numpy arrays and scalars; unpickling a
    numpy dtype builds its dtype class (``numpy.dtypes.Float64DType`` ...).
    """
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [type(np.dtype(name)) for name in (
        'float16', 'float32', 'float64', 'int32', 'int64', 'uint8', 'bool')]
    return [HistoryBuffer, _reconstruct, scalar, np.ndarray, np.dtype, *dtype_classes]


def patch_weights_only_allow_list() -> None:
    import torch
    torch.serialization.add_safe_globals(safe_globals())


def _history_buffer_getstate(self) -> dict:
    """``HistoryBuffer.__getstate__`` without the class-level statistics methods."""
    state = self.__dict__.copy()
    state.pop('statistics_methods', None)
    return state


def patch_history_buffer_state() -> None:
    from mmengine.logging.history_buffer import HistoryBuffer
    if HistoryBuffer.__getstate__ is _history_buffer_getstate:
        return
    if not hasattr(HistoryBuffer, '_statistics_methods') or \
            '__getstate__' not in vars(HistoryBuffer):
        raise CompatError('rmt_mm.compat patch history_buffer_state: mmengine\'s HistoryBuffer '
                          'no longer defines __getstate__ / _statistics_methods as 0.10 did; '
                          'review the patch')
    HistoryBuffer.__getstate__ = _history_buffer_getstate


def patch_atomic_file_backend() -> None:
    from .engine import fileio  # noqa: F401  (registers the backend on import)


def sdpa_flop_jit(inputs, outputs) -> int:
    """FLOPs of ``scaled_dot_product_attention(q, k, v, ...)`` from the traced shapes:
    batch dims x Lq x Lk x (D + Dv)."""
    from mmengine.analysis.jit_handles import get_shape
    q, k, v = (get_shape(value) for value in inputs[:3])
    batch = 1
    for size in q[:-2]:
        batch *= size
    return batch * q[-2] * k[-2] * (q[-1] + v[-1])


SDPA_OP = 'aten::scaled_dot_product_attention'


def patch_sdpa_flop_count() -> None:
    import mmengine.analysis.complexity_analysis as analysis
    table = getattr(analysis, '_DEFAULT_SUPPORTED_FLOP_OPS', None)
    if not isinstance(table, dict) or 'aten::matmul' not in table:
        raise CompatError('rmt_mm.compat patch sdpa_flop_count: mmengine.analysis no longer '
                          'keeps its FLOP handles in _DEFAULT_SUPPORTED_FLOP_OPS; review the '
                          'patch')
    table.setdefault(SDPA_OP, sdpa_flop_jit)


def patch_mmpretrain_model_hub() -> None:
    import importlib.util
    if importlib.util.find_spec('mmpretrain') is None:
        return  # a backbone-only environment: no model hub to register with
    from mmpretrain.apis.model import ModelHub
    mim = osp.join(osp.dirname(osp.abspath(__file__)), '.mim')
    metafile = osp.join(mim, 'configs', 'cls', 'metafile.yml')
    if not osp.isfile(metafile) or 'rmt_t_in1k' in ModelHub._models_dict:
        return
    ModelHub.register_model_index(metafile, config_prefix=mim)


def apply() -> None:
    """Apply every patch (idempotent)."""
    check_versions()
    patch_config_scope()
    patch_weights_only_allow_list()
    patch_history_buffer_state()
    patch_atomic_file_backend()
    patch_sdpa_flop_count()
    patch_mmpretrain_model_hub()
