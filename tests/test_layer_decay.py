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


# ----------------------------------------------------------------------------- the README
def readme_layer_decay_blocks():
    """The README's layer-decay blocks as a user pastes them: 'as_is' (the paper's recipes),
    'dino' and 'mask2former'."""
    from helpers import readme_blocks
    blocks = [b for b in readme_blocks('README.md', 'python')
              if 'rmt_mm.LayerDecayOptimWrapperConstructor' in b]
    found = {'mask2former' if 'query_embed' in b else 'dino' if '_delete_' in b else 'as_is': b
             for b in blocks}
    assert len(found) == len(blocks) == 3, blocks
    return found


def pasted(block, config, tmp_path):
    """(scope, model, optim wrapper config) of ``config`` with ``block`` pasted at its end,
    the tiny RMT in place of its own (the rule does not depend on the size)."""
    from rmt_mm.apis import adapt_to_cpu

    from task_configs import shrink_model
    path = tmp_path / 'pasted.py'
    path.write_text(f"_base_ = ['{osp.join(REPO, 'configs', config)}']\n{block}")
    cfg = adapt_to_cpu(Config.fromfile(str(path)))  # AMP -> fp32: the rule is the same
    shrink_model(cfg)
    cfg.model.backbone.norm_cfg = dict(type='BN', requires_grad=True)
    return cfg.default_scope, cfg.model, cfg.optim_wrapper


def expected_rule(paramwise, base_lr, base_wd, name, module, local, depth):
    """(lr, weight decay) of a parameter by the README's words: lr x lr_mult of its
    custom_keys entry x rate ** (n - 1 - i); decay_mult of that entry (1 without), else the
    norm and bias multipliers."""
    keys = sorted(sorted(paramwise.get('custom_keys', {})), key=len, reverse=True)
    key = next((k for k in keys if k in name), None)
    entry = paramwise['custom_keys'][key] if key else {}
    layer, layers = depth(name, 'backbone.')
    lr = base_lr * entry.get('lr_mult', 1.0) * paramwise['layer_decay_rate'] ** (
        layers - 1 - layer)
    norms = (torch.nn.modules.batchnorm._BatchNorm, torch.nn.GroupNorm, torch.nn.LayerNorm)
    if key:
        decay = entry.get('decay_mult', 1.0)
    elif isinstance(module, norms) and 'norm_decay_mult' in paramwise:
        decay = paramwise['norm_decay_mult']
    elif local == 'bias' and 'bias_decay_mult' in paramwise:
        decay = paramwise['bias_decay_mult']
    else:
        decay = 1.0
    return lr, base_wd * decay


@pytest.mark.parametrize('block, config', [
    ('as_is', 'det/mask_rcnn_rmt_t_fpn_1x_coco.py'),
    ('as_is', 'det/cascade_mask_rcnn_rmt_s_fpn_ms_3x_coco.py'),
    ('as_is', 'seg/upernet_rmt_s_160k_ade20k_512x512.py'),
    ('as_is', 'det/dino_4scale_rmt_s_12e_coco.py'),
    ('dino', 'det/dino_4scale_rmt_s_12e_coco.py'),
    ('mask2former', 'det/mask2former_rmt_s_lsj_50e_coco.py'),
    ('mask2former', 'seg/mask2former_rmt_s_160k_ade20k_512x512.py'),
])
def test_the_readme_blocks_pasted_into_our_configs(block, config, tmp_path):
    """Every parameter gets what the README says, and the values a user checks: the stem at
    lr x 0.9 ** (n - 1), the heads at the base lr; DINO's backbone key, when kept, multiplies
    (it is not ignored); with the head's own block the backbone's norms and biases, and
    Mask2Former's embeddings, have no weight decay."""
    from mmengine.model import revert_sync_batchnorm
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import MODELS, init_default_scope
    scope, model_cfg, wrapper_cfg = pasted(readme_layer_decay_blocks()[block], config, tmp_path)
    init_default_scope(scope)
    model = revert_sync_batchnorm(MODELS.build(model_cfg))
    wrapper = build_optim_wrapper(model, wrapper_cfg)
    group_of = {id(p): g for g in wrapper.optimizer.param_groups for p in g['params']}
    paramwise = wrapper_cfg.paramwise_cfg
    base_lr, base_wd = wrapper_cfg.optimizer.lr, wrapper_cfg.optimizer.weight_decay
    depth = model.backbone.get_layer_depth
    for module_name, module in model.named_modules():
        for local, param in module.named_parameters(recurse=False):
            name = f'{module_name}.{local}'
            if param.requires_grad:
                group = group_of[id(param)]
                assert (group['lr'], group['weight_decay']) == pytest.approx(expected_rule(
                    paramwise, base_lr, base_wd, name, module, local, depth)), name
    params = dict(model.named_parameters())
    layers = depth('backbone.patch_embed.proj.0.weight', 'backbone.')[1]
    backbone_mult = 0.1 if config.startswith('det/dino') and block == 'as_is' else 1.0
    stem = group_of[id(params['backbone.patch_embed.proj.0.weight'])]
    assert stem['lr'] == pytest.approx(base_lr * backbone_mult * 0.9 ** (layers - 1))
    head = next(n for n in params if not n.startswith(('backbone.', 'data_preprocessor.'))
                and n.endswith('weight') and params[n].ndim > 1)
    assert group_of[id(params[head])]['lr'] == pytest.approx(base_lr), head
    stem_norm = group_of[id(params['backbone.patch_embed.proj.1.weight'])]
    stem_bias = group_of[id(params['backbone.patch_embed.proj.0.bias'])]
    if block != 'as_is' or not config.startswith('det/dino'):
        assert stem_norm['weight_decay'] == 0.0
    if block != 'as_is':
        assert stem_bias['weight_decay'] == 0.0
    if block == 'mask2former':
        for name in params:
            if name.endswith(('query_embed.weight', 'query_feat.weight', 'level_embed.weight')):
                assert group_of[id(params[name])]['weight_decay'] == 0.0, name
