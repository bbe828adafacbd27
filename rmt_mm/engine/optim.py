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

A parameter of layer id ``i`` of ``n`` gets ``lr * lr_mult * layer_decay_rate ** (n - 1 - i)``,
where ``lr_mult`` is that of its ``custom_keys`` entry (1 without one). mmpretrain's
constructor drops ``lr_mult``; here it is applied, because the DINO and Mask2Former recipes
inherit ``custom_keys`` with ``backbone`` at ``lr_mult=0.1``, and ignoring it would train their
backbone at up to 10 times the recipe's rate. Weight decay follows mmpretrain's (and
mmengine's) rules: a parameter matched by a ``custom_keys`` entry gets its ``decay_mult``
(1 when the entry has none), the others ``norm_decay_mult``, ``bias_decay_mult`` or
``flat_decay_mult``.
"""
from collections import Counter

from mmengine.logging import print_log
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
    """mmpretrain's layer-wise lr decay for any model whose backbone has ``get_layer_depth``,
    with ``custom_keys``' ``lr_mult`` applied on top (see the module docstring)."""

    def add_params(self, params, module, prefix='', get_layer_depth=None, **kwargs):
        if get_layer_depth is None:
            get_layer_depth = layer_depth_function(module)
        super().add_params(params, module, prefix=prefix, get_layer_depth=get_layer_depth,
                           **kwargs)
        if prefix == '':  # the whole model is in ``params`` now
            apply_lr_mult(params)


def apply_lr_mult(params: list[dict]):
    """Multiply each group's layer-decayed lr by the ``lr_mult`` its ``custom_keys`` entry left
    in it (mmpretrain's constructor copies the entry into the group and then ignores it)."""
    applied = Counter()
    for group in params:
        lr_mult = group.pop('lr_mult', 1.0)
        if lr_mult != 1.0:
            group['lr'] *= lr_mult
            group['lr_scale'] *= lr_mult
            applied[lr_mult] += 1
    if applied:
        print_log('LayerDecayOptimWrapperConstructor: custom_keys lr_mult applied on top of '
                  'the layer decay: ' + ', '.join(f'x{mult:g} on {count} parameters'
                                                  for mult, count in sorted(applied.items())),
                  logger='current')
