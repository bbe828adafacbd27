"""rmt_mm.LayerDecayOptimWrapperConstructor: layer-wise lr decay on detectors, segmentors and
DETR-style detectors with an RMT backbone (mmdet's and mmseg's own constructors refuse RMT)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from helpers import REPO

RATE, LR, WD = 0.8, 1e-3, 0.05
PARAMWISE = dict(layer_decay_rate=RATE, norm_decay_mult=0.0, bias_decay_mult=0.0)


def _model(kind):
    """(scope, model config) of a Mask R-CNN, an UperNet and a DINO with an RMT-T backbone."""
    import rmt_mm  # noqa: F401  (rmt_mm:: and mmdet:: bases)
    if kind == 'mask_rcnn':
        cfg = Config.fromfile(osp.join(REPO, 'configs/det/mask_rcnn_rmt_t_fpn_1x_coco.py'))
    elif kind == 'upernet':
        cfg = Config.fromfile(osp.join(REPO, 'configs/seg/upernet_rmt_s_160k_ade20k_512x512.py'))
    else:
        cfg = Config.fromfile(osp.join(osp.dirname(__import__('mmdet').__file__), '.mim',
                                       'configs', 'dino', 'dino-4scale_r50_8xb2-12e_coco.py'))
        cfg.model.backbone = dict(type='rmt_mm.RMT', arch='t', out_indices=(1, 2, 3))
        cfg.model.neck.in_channels = [128, 256, 512]
    cfg.model.backbone.init_cfg = None
    cfg.model.backbone.norm_cfg = dict(type='BN', requires_grad=True)
    return cfg.default_scope, cfg.model


@pytest.mark.parametrize('kind', ['mask_rcnn', 'upernet', 'dino'])
def test_lr_follows_the_layer_depth_and_heads_keep_the_base_lr(kind):
    from mmengine.model import revert_sync_batchnorm
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import MODELS, init_default_scope
    scope, model_cfg = _model(kind)
    init_default_scope(scope)
    model = revert_sync_batchnorm(MODELS.build(model_cfg))
    wrapper = build_optim_wrapper(model, dict(
        optimizer=dict(type='AdamW', lr=LR, weight_decay=WD),
        constructor='rmt_mm.LayerDecayOptimWrapperConstructor', paramwise_cfg=PARAMWISE))
    groups = {}
    for group in wrapper.optimizer.param_groups:
        for param in group['params']:
            groups[id(param)] = group
    depth = model.backbone.get_layer_depth
    seen = set()
    norms = (torch.nn.modules.batchnorm._BatchNorm, torch.nn.GroupNorm, torch.nn.LayerNorm)
    for module_name, module in model.named_modules():
        for local, param in module.named_parameters(recurse=False):
            name = f'{module_name}.{local}'
            if not param.requires_grad:
                continue
            group = groups[id(param)]
            layer, layers = depth(name, 'backbone.')
            assert group['lr'] == pytest.approx(LR * RATE ** (layers - 1 - layer)), name
            if not name.startswith('backbone.'):
                assert group['lr'] == pytest.approx(LR), name  # necks and heads: the base lr
            # mmpretrain's exemptions: norm layers' parameters, parameters named 'bias'
            exempt = isinstance(module, norms) or local == 'bias'
            assert group['weight_decay'] == (0.0 if exempt else WD), name
            seen.add(layer)
    # every depth of the backbone has its own lr: stem, each block, each downsampling layer
    layers = depth('backbone.patch_embed.proj.0.weight', 'backbone.')[1]
    assert seen == set(range(layers)), sorted(set(range(layers)) - seen)
    stem = dict(model.named_parameters())['backbone.patch_embed.proj.0.weight']
    assert groups[id(stem)]['lr'] == pytest.approx(LR * RATE ** (layers - 1))


def test_models_without_layer_depth_are_refused_by_name():
    from mmengine.optim import build_optim_wrapper

    class Plain(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = torch.nn.Linear(2, 2)

    with pytest.raises(NotImplementedError, match='Plain has no backbone with get_layer_depth '
                       r'\(its backbone: Linear\)'):
        build_optim_wrapper(Plain(), dict(
            optimizer=dict(type='AdamW', lr=LR, weight_decay=WD), paramwise_cfg=PARAMWISE,
            constructor='rmt_mm.LayerDecayOptimWrapperConstructor'))
