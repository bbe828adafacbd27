"""Everything ``import rmt_mm`` changes outside rmt_mm, in one place.

Only what loading checkpoints and ``rmt_mm::`` configs needs happens at import; nothing here
changes how other people's models are built, run or counted. :func:`apply` runs once at
import. Each patch is guarded by the versions it was written for and
by a check of the code it changes; when either differs, it raises :class:`CompatError`
naming the patch, what changed and what to do, instead of patching something it does not know.

1. ``config_scope`` (mmengine 0.9, 0.10): configs may inherit ours as
   ``_base_ = 'rmt_mm::det/...'``. mmengine knows a fixed table of packages
   (``mmengine.config.utils.MODULE2PACKAGE``, gains ``'rmt_mm'``) and finds a package's
   configs through its distribution's location, which is wrong for editable installs; its
   private ``mmengine.config.config.get_installed_path`` is
   wrapped to answer this package's folder for ``rmt_mm`` (every other package unchanged).
2. ``weights_only_allow_list`` (torch >= 2.4): mmengine calls ``torch.load`` without
   ``weights_only``, which torch >= 2.6 defaults to True, so its Runner checkpoints (message
   hub ``HistoryBuffer`` objects with numpy arrays) would not resume. Instead of turning
   ``weights_only`` off, exactly the classes those checkpoints contain are allow-listed
   (:func:`safe_globals`); anything else is still refused. torch < 2.4 has no allow-list and
   torch < 2.6 unpickles mmengine's loads fully by default: there the patch does nothing
   (docs/compatibility.md, "Checkpoint safety").
3. ``history_buffer_state`` (mmengine 0.10): ``HistoryBuffer.__getstate__`` pickles the
   class's statistics methods through ``builtins.getattr``, which would have to be
   allow-listed too; they are class attributes every process registers on import, so the
   replacement leaves them out of the state. mmengine 0.9 has no ``__getstate__`` (its state
   is the instance's own) and is left as it is.
4. ``atomic_file_backend`` (mmengine 0.10): the file backend ``rmt_mm_atomic_local``
   (:mod:`rmt_mm.utils.fileio`) is registered through mmengine's public ``register_backend``;
   listed here because it adds a name to a global table.

MaSA's attention products are counted by mmengine's FLOP counter (mmdet's, mmseg's and
mmpretrain's get_flops) without a handle in its global table: traced, MaSA writes its fused
attention as the two matrix products the counter knows (``rmt_mm.models.layers.masa.sdpa``).
rmt_mm's ImageNet models reach mmpretrain's model hub through its public API where
``rmt_mm.models`` imports mmpretrain (:mod:`rmt_mm.models.classifiers.hub`), not from here.
"""
import os.path as osp

PATCHES = ('config_scope', 'weights_only_allow_list', 'history_buffer_state',
           'atomic_file_backend')
MMENGINE_WRITTEN_FOR = ('0.9.', '0.10.')


class CompatError(RuntimeError):
    """A patch of :mod:`rmt_mm.compat` meets code it was not written for."""


def check_versions(mmengine_version: str = None) -> None:
    """Raise CompatError unless the mmengine in use is one the patches were written for."""
    import mmengine
    mmengine_version = mmengine_version or mmengine.__version__
    if not mmengine_version.startswith(MMENGINE_WRITTEN_FOR):
        raise CompatError(
            f'rmt_mm.compat patches {PATCHES} were written for mmengine '
            f'{" and ".join(v + "x" for v in MMENGINE_WRITTEN_FOR)}, found {mmengine_version}: '
            f'install one of those (requirements/stack.txt pins the tested one) or review '
            f'rmt_mm/compat.py for this version')


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
    if hasattr(torch.serialization, 'add_safe_globals'):  # torch >= 2.4
        torch.serialization.add_safe_globals(safe_globals())


def _history_buffer_getstate(self) -> dict:
    """``HistoryBuffer.__getstate__`` without the class-level statistics methods."""
    state = self.__dict__.copy()
    state.pop('statistics_methods', None)
    return state


def patch_history_buffer_state() -> None:
    import mmengine
    from mmengine.logging.history_buffer import HistoryBuffer
    if HistoryBuffer.__getstate__ is _history_buffer_getstate:
        return
    if mmengine.__version__.startswith('0.9.') and '__getstate__' not in vars(HistoryBuffer):
        return  # 0.9 pickles the instance's own state: nothing to leave out
    if not hasattr(HistoryBuffer, '_statistics_methods') or \
            '__getstate__' not in vars(HistoryBuffer):
        raise CompatError('rmt_mm.compat patch history_buffer_state: mmengine\'s HistoryBuffer '
                          'no longer defines __getstate__ / _statistics_methods as 0.10 did; '
                          'review the patch')
    HistoryBuffer.__getstate__ = _history_buffer_getstate


def patch_atomic_file_backend() -> None:
    from .utils import fileio  # noqa: F401  (registers the backend on import)


def apply() -> None:
    """Apply every patch (idempotent)."""
    check_versions()
    patch_config_scope()
    patch_weights_only_allow_list()
    patch_history_buffer_state()
    patch_atomic_file_backend()
