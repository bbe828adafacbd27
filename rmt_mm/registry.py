"""rmt_mm's registries: children of mmengine's roots under the scope ``rmt_mm``.

Because they are children of the roots, a config whose ``default_scope`` is ``mmdet``, ``mmseg``
or ``mmpretrain`` can say ``type='rmt_mm.RMT'``: mmengine imports ``rmt_mm.registry`` for the
``rmt_mm`` prefix, and ``locations`` makes the registry import ``rmt_mm.models`` the first time
it is searched, so ``custom_imports`` is optional.
"""
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, locations=['rmt_mm.models'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['rmt_mm.engine'])
