"""rmt_mm's registries: children of mmengine's roots under the scope ``rmt_mm``.

Because they are children of the roots, a config whose ``default_scope`` is ``mmdet``, ``mmseg``
or ``mmpretrain`` can say ``type='rmt_mm.RMT'``: mmengine imports ``rmt_mm.registry`` for the
``rmt_mm`` prefix, and ``locations`` makes the registry import the module that defines the
class the first time it is searched, so ``custom_imports`` is optional.
"""
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, locations=['rmt_mm.models'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS,
                 locations=['rmt_mm.engine.hooks', 'rmt_mm.engine.ema'])
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, locations=['rmt_mm.engine.ema'])
PARAM_SCHEDULERS = Registry('parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS,
                            locations=['rmt_mm.engine.schedulers'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry('optimizer wrapper constructor',
                                      parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
                                      locations=['rmt_mm.engine.optim'])
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS,
                    locations=['rmt_mm.datasets.coco', 'rmt_mm.datasets.segmentation'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS,
                      locations=['rmt_mm.datasets.loading', 'rmt_mm.datasets.token_label'])
