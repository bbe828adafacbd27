"""Recipes of ours with today's heads: DINO and Mask2Former on RMT (no published RMT result).

Each config names its library source (``# Source: ...``) and lists what it changed for RMT
(``# Changed for RMT:``); the tests read both from the file and fail on any other difference
from the source's resolved values, and on a listed change that changes nothing.
"""
import glob
import os.path as osp
import re

import numpy as np
import pytest
import torch
from mmengine.config import Config

from helpers import REPO, SHAPE_CLASSES, printed_metrics, read_scalars, run_python
from task_configs import (
    load_recipe_source,
    recipe_source,
    run_training,
    set_num_classes,
    shrink_model,
    tiny_det_config,
    tiny_seg_config,
)

RECIPES = {
    # name: (task, first output stride of the head's input, number of scales the head reads)
    'dino_4scale_rmt_s_12e_coco': ('det', 8, 4),
    'dino_4scale_rmt_b_12e_coco': ('det', 8, 4),
    'dino_4scale_rmt_l_12e_coco': ('det', 8, 4),
    'dino_5scale_rmt_l_12e_coco': ('det', 4, 5),
    'mask2former_rmt_s_lsj_50e_coco': ('det', 4, 4),
    'mask2former_rmt_b_lsj_50e_coco': ('det', 4, 4),
    'mask2former_rmt_s_160k_ade20k_512x512': ('seg', 4, 4),
    'mask2former_rmt_b_160k_ade20k_512x512': ('seg', 4, 4),
    'mask2former_rmt_l_160k_ade20k_512x512': ('seg', 4, 4),
}


def path_of(name):
    return osp.join(REPO, 'configs', RECIPES[name][0], name + '.py')


def listed_changes(path):
    """The dotted keys of the config's ``# Changed for RMT:`` list."""
    text = open(path).read()
    block = text[text.index('# Changed for RMT:'):]
    keys = []
    for line in block.splitlines()[1:]:
        if not line.startswith('#   '):
            break
        found = re.match(r'#   - ([\w., ]+):', line)
        if found:
            keys += found.group(1).split(', ')
    return set(keys)


def plain(node):
    """Plain dicts and lists, without the ``_scope_`` entries mmengine adds to what a config
    inherits from another package (``mmdet::...``)."""
    if isinstance(node, dict):
        return {k: plain(v) for k, v in node.items() if k != '_scope_'}
    if isinstance(node, (list, tuple)):
        return [plain(v) for v in node]
    return node


def flatten(node, prefix=''):
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from flatten(value, f'{prefix}.{key}' if prefix else key)
    else:
        yield prefix, node


# What mmengine's Runner.from_cfg reads: the settings. Other top-level names are the files'
# own variables (Swin's `depths`, the pipelines), already substituted into these.
RUNNER_SETTINGS = {
    'model', 'work_dir', 'train_dataloader', 'val_dataloader', 'test_dataloader', 'train_cfg',
    'val_cfg', 'test_cfg', 'auto_scale_lr', 'optim_wrapper', 'param_scheduler',
    'val_evaluator', 'test_evaluator', 'default_hooks', 'custom_hooks', 'data_preprocessor',
    'load_from', 'resume', 'launcher', 'env_cfg', 'log_processor', 'log_level', 'visualizer',
    'default_scope', 'randomness', 'experiment_name', 'custom_imports', 'vis_backends',
    'find_unused_parameters', 'model_wrapper_cfg', 'cfg'}


def settings(cfg):
    """{dotted key: value} of a config's Runner settings."""
    return {key: value for key, value in flatten(plain(cfg.to_dict()))
            if key.split('.')[0] in RUNNER_SETTINGS}


def test_every_recipe_of_ours_is_listed():
    found = {osp.splitext(osp.basename(p))[0]
             for p in glob.glob(osp.join(REPO, 'configs', '*', '*.py'))
             if recipe_source(p)}
    assert found == set(RECIPES)


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_recipe_equals_its_source_but_for_the_listed_changes(name):
    path = path_of(name)
    ours, source = settings(Config.fromfile(path)), settings(load_recipe_source(path))
    missing = object()
    differing = {key for key in set(ours) | set(source)
                 if ours.get(key, missing) != source.get(key, missing)}
    listed = listed_changes(path)
    assert {'model.backbone'} <= listed

    def under(key, prefix):
        return key == prefix or key.startswith(prefix + '.')

    unlisted = sorted(k for k in differing if not any(under(k, c) for c in listed))
    assert unlisted == [], [(k, source.get(k), ours.get(k)) for k in unlisted]
    idle = sorted(c for c in listed if not any(under(k, c) for k in differing))
    assert idle == []
    # Our modules are imported beside the source's (mmseg's Mask2Former needs mmdet.models).
    imports = Config.fromfile(path).custom_imports.imports
    source_imports = load_recipe_source(path).get('custom_imports', {}).get('imports', [])
    assert set([source_imports] if isinstance(source_imports, str) else source_imports) \
        <= set(imports)


def build(name, tiny=False):
    from mmengine.registry import MODELS, init_default_scope
    cfg = Config.fromfile(path_of(name))
    cfg.model.backbone.init_cfg = None
    if tiny:
        shrink_model(cfg)
        set_num_classes(cfg.model, len(SHAPE_CLASSES))
    init_default_scope(cfg.default_scope)
    return cfg, MODELS.build(cfg.model)


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_params_in_the_task_readme_and_the_head_fed_at_its_channels_and_strides(name):
    """The parameter count in configs/<task>/README.md is the built model's; the backbone's
    outputs reach DINO's channel mapper or Mask2Former's pixel decoder as they expect."""
    task, first_stride, scales = RECIPES[name]
    backbone = Config.fromfile(path_of(name)).model.backbone
    arch = name.split('_rmt_')[1][0]
    assert (backbone.type, backbone.arch) == ('rmt_mm.RMT', arch)
    assert backbone.init_cfg.checkpoint == f'checkpoints/rmt_{arch}_in1k.pth'
    cfg, model = build(name)  # without the checkpoint
    params = sum(p.numel() for p in model.parameters())
    readme = open(osp.join(REPO, 'configs', task, 'README.md')).read()
    [row] = [line for line in readme.splitlines() if f'[{name}]({name}.py)' in line]
    assert f'| {params / 1e6:.2f}M |' in row, (row, params)
    model.eval()
    size = 128
    with torch.no_grad():
        feats = model.backbone(torch.randn(1, 3, size, size))
        widths = model.backbone.embed_dims
        expected = [(widths[i], size >> (i + 2)) for i in model.backbone.out_indices]
        assert [(f.shape[1], f.shape[-1]) for f in feats] == expected
        if name.startswith('dino'):  # the channel mapper: 256 channels, one extra level
            levels = model.neck(feats)
            assert [(f.shape[1], size // f.shape[-1]) for f in levels] == \
                [(256, first_stride << i) for i in range(scales)]
            assert model.encoder.layers[0].self_attn.num_levels == scales
        else:  # the pixel decoder: masks at stride 4, three levels for the transformer decoder
            head = model.panoptic_head if 'panoptic_head' in cfg.model else model.decode_head
            mask_features, multi_scale = head.pixel_decoder(feats)
            assert (mask_features.shape[1], size // mask_features.shape[-1]) == (256, 4)
            assert [size // f.shape[-1] for f in multi_scale] == [32, 16, 8]


@pytest.mark.parametrize('name', ['mask2former_rmt_s_lsj_50e_coco',
                                  'mask2former_rmt_s_160k_ade20k_512x512'])
def test_mask2former_optimizer_rule_is_the_swin_recipe_s_for_rmt_names(name):
    """Head parameters get exactly what the source's rule gives them; the backbone gets
    0.1 x lr, and weight decay on everything but its norm layers (Swin's rule)."""
    from mmengine.optim import build_optim_wrapper
    from torch.nn.modules.batchnorm import _BatchNorm
    cfg, model = build(name)

    def groups(paramwise_cfg):
        wrapper = build_optim_wrapper(model, dict(cfg.optim_wrapper, paramwise_cfg=paramwise_cfg))
        return {id(p): (g['lr'], g['weight_decay']) for g in wrapper.optimizer.param_groups
                for p in g['params']}

    ours = groups(cfg.optim_wrapper.paramwise_cfg)
    swin_rule = groups(load_recipe_source(path_of(name)).optim_wrapper.paramwise_cfg)
    lr, weight_decay = cfg.optim_wrapper.optimizer.lr, cfg.optim_wrapper.optimizer.weight_decay
    norms = {id(p) for m in model.backbone.modules()
             if isinstance(m, (_BatchNorm, torch.nn.LayerNorm, torch.nn.GroupNorm))
             for p in m.parameters(recurse=False)}
    assert len(norms) > 100
    for pname, p in model.named_parameters():
        if pname.startswith('backbone.'):
            expected = (0.1 * lr, 0.0 if id(p) in norms else weight_decay)
            assert ours[id(p)] == pytest.approx(expected), pname
        else:
            assert ours[id(p)] == swin_rule[id(p)], pname


def loss_falls(work_dir, iterations):
    losses = [r['loss'] for r in read_scalars(work_dir) if 'loss' in r]
    assert len(losses) == iterations and all(loss == loss for loss in losses), losses
    third = len(losses) // 3
    assert sum(losses[-third:]) < sum(losses[:third]), losses
    return losses


def predictions(path):
    """The raw predictions mmengine's DumpResults wrote, as numpy arrays per image."""
    import pickle
    with open(path, 'rb') as f:
        samples = pickle.load(f)
    keys = ('bboxes', 'scores', 'labels', 'masks')
    out = []
    for sample in samples:
        if 'pred_instances' in sample:
            instances = sample['pred_instances']
            out.append({k: instances[k].numpy() for k in keys if k in instances})
        else:
            out.append({'sem_seg': sample['pred_sem_seg']['data'].numpy(),
                        'logits': sample['seg_logits']['data'].numpy()})
    return out


def assert_same_predictions(ours, theirs):
    """The checkpoint's predictions are the in-run model's (the same weights, the same
    arithmetic: equal up to float noise; masks may flip at a few boundary pixels)."""
    assert len(ours) == len(theirs) > 0
    for a, b in zip(ours, theirs):
        assert a.keys() == b.keys()
        for key in a:
            if a[key].dtype == bool or key in ('labels', 'sem_seg'):
                assert (a[key] == b[key]).mean() > 0.999, key
            else:
                assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-5), key


def draw(name, config, checkpoint, image):
    """The library's inferencer draws the checkpoint's prediction; the drawing shows it: the
    top-scoring boxes' outlines (and nothing left of or above them), or each pixel in its
    predicted class's palette colour blended over the photo."""
    import mmcv
    original = mmcv.imread(image, channel_order='rgb').astype(int)
    if RECIPES[name][0] == 'det':
        from mmdet.apis import DetInferencer
        inferencer = DetInferencer(model=config, weights=checkpoint, device='cpu')
        if name.startswith('mask2former'):
            # After a few iterations Mask2Former's masks are still empty, and mmdet 3.3's
            # visualizer cannot label empty masks (np.stack of nothing): at its default
            # threshold it draws nothing yet.
            out = inferencer(image, return_vis=True, pred_score_thr=0.3)
            [prediction], [drawn] = out['predictions'], out['visualization']
            assert len(prediction['scores']) == 100
            assert (drawn == original).all()
            return
        # DINO: every score is still low; draw the top-scoring boxes only.
        top = max(inferencer(image)['predictions'][0]['scores'])
        out = inferencer(image, return_vis=True, pred_score_thr=top - 1e-6)
        [prediction], [drawn] = out['predictions'], out['visualization']
        boxes = [b for b, s in zip(prediction['bboxes'], prediction['scores']) if s >= top - 1e-6]
        assert drawn.shape == original.shape and boxes
        changed = (drawn.astype(int) != original).any(-1)
        height, width = changed.shape
        outline = np.zeros_like(changed)
        for x0, y0, x1, y1 in (np.round(b).astype(int) for b in boxes):
            x0, x1 = np.clip([x0, x1], 0, width - 1)
            y0, y1 = np.clip([y0, y1], 0, height - 1)
            outline[[y0, y1], x0:x1 + 1] = outline[y0:y1 + 1, [x0, x1]] = True
        assert changed[outline].mean() > 0.6  # the boxes are drawn
        far = np.ones_like(changed)  # left of and above every box, beyond the line width
        for x0, y0, _, _ in boxes:
            far[max(int(y0) - 4, 0):, max(int(x0) - 4, 0):] = False
        assert not changed[far].any()
        return
    from mmseg.apis import MMSegInferencer
    inferencer = MMSegInferencer(model=config, weights=checkpoint, device='cpu')
    out = inferencer(image, return_vis=True, opacity=0.8)
    drawn, classes = out['visualization'].astype(int), out['predictions']  # one image
    palette = np.array(inferencer.visualizer.dataset_meta['palette'])
    expected = np.round(0.2 * original + 0.8 * palette[classes])
    # Each pixel in its class's colour, but where the class names are written.
    assert (np.abs(drawn - expected) <= 2).all(-1).mean() > 0.9


@pytest.mark.slow
# One per head and task. The five-scale DINO trains at 4.3 s an iteration here (its stride-4
# level); its build, shapes and a training step's gradients are tested in the fast set.
@pytest.mark.parametrize('name', ['dino_4scale_rmt_s_12e_coco', 'mask2former_rmt_s_lsj_50e_coco',
                                  'mask2former_rmt_s_160k_ade20k_512x512'])
def test_train_test_and_draw(name, request, tmp_path):
    """tools/train.py trains (the loss falls); tools/test.py's predictions from the checkpoint
    are the in-run model's at its last validation, and its metric that validation's; the
    library's inferencer draws the prediction."""
    task = RECIPES[name][0]
    work_dir = str(tmp_path / 'work')
    if task == 'det':
        root = request.getfixturevalue('coco_root')
        # DINO's loss is noisy (random denoising queries): 3 epochs for it to show a trend.
        epochs = 3 if name.startswith('dino') else 2
        cfg = tiny_det_config(path_of(name), root, SHAPE_CLASSES, work_dir, max_epochs=epochs,
                              with_mask=name.startswith('mask2former'))
        iterations, metric = 8 * epochs, 'coco/bbox_mAP'
        checkpoint = 'iter_16.pth' if 'max_iters' in cfg.train_cfg else f'epoch_{epochs}.pth'
        image = glob.glob(osp.join(root, 'val', '*'))[0]
    else:
        root = request.getfixturevalue('ade_root')
        cfg = tiny_seg_config(path_of(name), root, work_dir, max_iters=12)
        iterations, checkpoint, metric = 12, 'iter_12.pth', 'mIoU'
        image = glob.glob(osp.join(root, 'images', 'validation', '*'))[0]
    cfg.model.backbone.pop('_delete_', None)
    # The raw predictions of the last validation (the in-run model) and of tools/test.py.
    in_run, tested = str(tmp_path / 'in_run.pkl'), str(tmp_path / 'tested.pkl')
    cfg.val_evaluator = [cfg.val_evaluator, dict(type='mmengine.DumpResults',
                                                 out_file_path=in_run)]
    cfg.test_evaluator = [cfg.val_evaluator[0], dict(type='mmengine.DumpResults',
                                                     out_file_path=tested)]
    config, _ = run_training(cfg, tmp_path, 'ours')
    loss_falls(work_dir, iterations)
    final = [r for r in read_scalars(work_dir) if metric in r][-1]
    test = run_python('tools/test.py', '--device', 'cpu', config,
                      osp.join(work_dir, checkpoint), '--work-dir', str(tmp_path / 'test'),
                      timeout=600)
    assert printed_metrics(test.stdout)[metric] == pytest.approx(final[metric], abs=1e-2)
    assert_same_predictions(predictions(tested), predictions(in_run))
    draw(name, config, osp.join(work_dir, checkpoint), image)
