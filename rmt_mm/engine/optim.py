"""Layer-wise learning-rate decay for RMT in every task.

mmdet's and mmseg's ``LearningRateDecayOptimizerConstructor`` know ConvNeXt and BEiT only
(NotImplementedError for other backbones); mmpretrain's takes the model's ``get_layer_depth``,
which only its classifiers have. This constructor is mmpretrain's, given a depth function for
any model with an RMT (or other ``get_layer_depth``) backbone: the backbone's parameters by
:meth:`rmt_mm.models.RMT.get_layer_depth` (stem, blocks, downsampling layers, output norms),
everything else (necks, heads, queries) at the last id, i.e. the base learning rate.

    optim_wrapper = dict(
        optimizer=dict(type='AdamW', lr=2e-4, weight_decay=0.05),
        constructor='rmt_mm.LayerDecayOptimWrapperConstructor',
        paramwise_cfg=dict(layer_decay_rate=0.9, norm_decay_mult=0.0, bias_decay_mult=0.0))

A parameter of layer id ``i`` of ``n`` gets ``lr * layer_decay_rate ** (n - 1 - i)``; weight
decay follows mmpretrain's rules (``custom_keys`` ``decay_mult``, ``norm_decay_mult``,
``bias_decay_mult``, ``flat_decay_mult``). ``lr_mult`` in ``custom_keys`` is not applied
(as in mmpretrain's).
"""
from mmpretrain.engine.optimizers import LearningRateDecayOptimWrapperConstructor

from rmt_mm.registry import OPTIM_WRAPPER_CONSTRUCTORS


def layer_depth_function(model):
    """``param_name -> (layer id, number of ids)`` for a classifier, detector or segmentor."""
    if hasattr(model, 'get_layer_depth'):
        return model.get_layer_depth
    backbone = getattr(model, 'backbone', None)
    if backbone is None or not hasattr(backbone, 'get_layer_depth'):
        raise NotImplementedError(
            f'LayerDecayOptimWrapperConstructor: {type(model).__name__} has no backbone with '
            f'get_layer_depth (its backbone: {type(backbone).__name__}); RMT, and mmpretrain\'s '
            f'ViT, Swin and ConvNeXt have one')
    return lambda name: backbone.get_layer_depth(name, 'backbone.')


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(LearningRateDecayOptimWrapperConstructor):
    """mmpretrain's layer-wise lr decay for any model whose backbone has ``get_layer_depth``
    (see the module docstring)."""

    def add_params(self, params, module, prefix='', get_layer_depth=None, **kwargs):
        if get_layer_depth is None:
            get_layer_depth = layer_depth_function(module)
        super().add_params(params, module, prefix=prefix, get_layer_depth=get_layer_depth,
                           **kwargs)
