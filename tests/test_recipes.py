"""Every config's recipe against the official code (github:qhfan/RMT), field by field.

``OFFICIAL_*`` hold the official values, each with the official file it comes from; the
tests read the same fields from our resolved configs, simulate every learning-rate schedule
over its whole length with mmengine's own schedulers and compare it with the official
formulas (mmcv 1.x for det/seg) or the official log (ImageNet), and check per parameter which
weights get weight decay under the official substring rule.
"""
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from helpers import FIXTURES, REPO
from task_configs import leaf_configs, load_recipe_source, paper_configs, recipe_source

CONFIGS = osp.join(REPO, 'configs')
D = 'detect/configs/RMT/'
S = 'segmentation/configs/RMT/'
C = 'classfication_release/main.py'
SUBSTRING_KEYS = {'absolute_pos_embed': 0., 'relative_position_bias_table': 0., 'norm': 0.}

# ----------------------------------------------------------------------------- the tables
# lr, weight decay, images per GPU (lr given for 8 GPUs), AMP loss scale (None: fp32),
# paramwise rule, schedule epochs and steps.
OFFICIAL_DET = {
    # name: (official file, lr, weight decay, images per GPU, loss scale, paramwise, 3x)
    'mask_rcnn_rmt_t_fpn_1x_coco': (D + 'maskrcnn_t_1x.py', 4e-4, 0.05, 2, 'dynamic', 'keys', 0),
    'mask_rcnn_rmt_s_fpn_1x_coco': (D + 'maskrcnn_s_1x.py', 4e-4, 0.05, 2, 'dynamic', 'keys', 0),
    'mask_rcnn_rmt_b_fpn_1x_coco': (D + 'maskrcnn_m_1x.py', 4e-4, 0.05, 2, 'dynamic', 'keys', 0),
    'mask_rcnn_rmt_l_fpn_1x_coco': (D + 'maskrcnn_l_1x.py', 2e-4, 0.05, 2, 'dynamic', 'keys', 0),
    'mask_rcnn_rmt_s_fpn_ms_3x_coco': (D + 'maskrcnn_s_3x.py', 4e-4, 0.05, 2, 'dynamic', 'keys',
                                       1),
    'mask_rcnn_rmt_b_fpn_ms_3x_coco': (D + 'maskrcnn_m_3x.py', 2e-4, 0.05, 2, 'dynamic', 'keys',
                                       1),
    'mask_rcnn_rmt_l_fpn_ms_3x_coco': (D + 'maskrcnn_l_3x.py', 2e-4, 0.05, 1, 'dynamic', 'keys',
                                       1),
    'cascade_mask_rcnn_rmt_s_fpn_ms_3x_coco': (D + 'casrcnn_s_3x.py', 4e-4, 0.05, 2, 'dynamic',
                                               'keys+norms', 1),
    'cascade_mask_rcnn_rmt_b_fpn_ms_3x_coco': (D + 'casrcnn_m_3x.py', 2e-4, 0.05, 2, 'dynamic',
                                               'keys+norms', 1),
    'retinanet_rmt_t_fpn_1x_coco': (D + 'retinanet_t_1x.py', 4e-4, 1e-4, 2, 512.0, 'none', 0),
    'retinanet_rmt_s_fpn_1x_coco': (D + 'retinanet_s_1x.py', 4e-4, 1e-4, 2, 512.0, 'none', 0),
    'retinanet_rmt_b_fpn_1x_coco': (D + 'retinanet_m_1x.py', 4e-4, 1e-4, 2, 512.0, 'none', 0),
    'retinanet_rmt_l_fpn_1x_coco': (D + 'retinanet_l_1x.py', 2e-4, 1e-4, 2, 512.0, 'none', 0),
}
OFFICIAL_SEG = {
    # name: (official file, lr, weight decay, loss scale, paramwise, iterations, eval and
    #        checkpoint interval, checkpoints kept)
    'fpn_rmt_t_80k_ade20k_512x512': (S + 'RMT_FPN_t_1x.py', 1e-4, 1e-4, None, 'none', 80000,
                                     4000, -1),
    'fpn_rmt_s_80k_ade20k_512x512': (S + 'RMT_FPN_s_1x.py', 1e-4, 1e-4, None, 'none', 80000,
                                     4000, -1),
    'fpn_rmt_b_80k_ade20k_512x512': (S + 'RMT_FPN_m_1x.py', 1e-4, 1e-4, None, 'none', 80000,
                                     4000, -1),
    'fpn_rmt_l_80k_ade20k_512x512': (S + 'RMT_FPN_l_1x.py', 1e-4, 1e-4, None, 'none', 80000,
                                     4000, -1),
    'upernet_rmt_s_160k_ade20k_512x512': (S + 'RMT_Uper_s_2x.py', 6e-5, 0.01, 512.0, 'keys',
                                          160000, 8000, 1),
    'upernet_rmt_b_160k_ade20k_512x512': (S + 'RMT_Uper_m_2x.py', 6e-5, 0.01, 512.0, 'keys',
                                          160000, 8000, 1),
    'upernet_rmt_l_160k_ade20k_512x512': (S + 'RMT_Uper_l_2x.py', 6e-5, 0.01, 512.0, 'keys',
                                          160000, 8000, 1),
}
# classfication_release/main.py defaults and run.sh: lr 5e-4 per 512 images, 128 per GPU for
# training (64 for evaluation), weight decay 0.05 except 1-D parameters and biases, AdamW
# eps 1e-8, dynamic loss scale (NativeScaler), 300 epochs, EMA 0.99996 per 512 images.
OFFICIAL_CLS = dict(lr_per_512=5e-4, batch=128, eval_batch=64, weight_decay=0.05, eps=1e-8,
                    epochs=300, ema_decay=0.99996, smoothing=0.1, mixup=0.8, cutmix=1.0,
                    reprob=0.25)
CLS_VARIANTS = ('rmt_t_in1k', 'rmt_s_in1k', 'rmt_b_in1k', 'rmt_l_in1k')
# Token labeling (official classification_token_label_release; recipe in test_token_label.py).
TOKEN_LABEL = ('rmt_s_token_label_in1k', 'rmt_b_token_label_in1k', 'rmt_l_token_label_in1k')


def load(task, name):
    return Config.fromfile(osp.join(CONFIGS, task, name + '.py'))


def test_the_tables_cover_every_config():
    assert paper_configs(osp.join(CONFIGS, 'det')) == set(OFFICIAL_DET)
    assert paper_configs(osp.join(CONFIGS, 'seg')) == set(OFFICIAL_SEG)
    assert paper_configs(osp.join(CONFIGS, 'cls')) == \
        set(CLS_VARIANTS) | set(TOKEN_LABEL) | {'rmt_s_in1k_384px'}


# Top-level keys that are not settings of mmengine's Runner or of the libraries' own base
# configs: the helpers shared across files, which mmengine must keep (file-local helpers are
# named __x and left out).
SHARED_HELPERS = {'rmt_backbone', 'atomic_checkpoints', 'random_state_hook', 'finite_loss_hook',
                  'mask2former_custom_keys',
                  'rand_augment', 'random_erasing'}
RUNNER_AND_LIBRARY_KEYS = {
    'model', 'default_scope', 'custom_imports', 'data_preprocessor', 'dataset_type',
    'data_root', 'train_pipeline', 'test_pipeline', 'train_dataloader', 'val_dataloader',
    'test_dataloader', 'val_evaluator', 'test_evaluator', 'optim_wrapper', 'param_scheduler',
    'auto_scale_lr', 'train_cfg', 'val_cfg', 'test_cfg', 'default_hooks', 'custom_hooks',
    'env_cfg', 'vis_backends', 'visualizer', 'log_level', 'load_from', 'resume', 'randomness',
    'sync_bn', 'log_processor', 'find_unused_parameters', 'tta_model', 'tta_pipeline',
    # from mmdet's and mmseg's own base files
    'backend_args', 'backbone_norm_cfg', 'norm_cfg', 'crop_size', 'img_ratios'}


@pytest.mark.parametrize('task', ['cls', 'det', 'seg'])
def test_saved_configs_carry_no_stale_helpers(task):
    for name in sorted(leaf_configs(osp.join(CONFIGS, task))):
        cfg = load(task, name)
        path = osp.join(CONFIGS, task, name + '.py')
        # A recipe of ours keeps its library source's top-level names (Swin's `depths`...).
        source_keys = set(load_recipe_source(path).keys()) if recipe_source(path) else set()
        extra = set(cfg.keys()) - RUNNER_AND_LIBRARY_KEYS - source_keys
        assert extra <= SHARED_HELPERS, (name, extra - SHARED_HELPERS)
        if 'rmt_backbone' in cfg:  # shared by every variant: nothing variant-specific in it
            assert not {'arch', 'init_cfg'} & set(cfg.rmt_backbone), name
            assert cfg.model.backbone.init_cfg.type == 'Pretrained', name
            assert cfg.model.backbone.init_cfg.checkpoint == \
                f'checkpoints/rmt_{cfg.model.backbone.arch}_in1k.pth', name


# ----------------------------------------------------------------------------- detection
@pytest.mark.parametrize('name', sorted(OFFICIAL_DET))
def test_det_recipe_equals_the_official_config(name):
    _, lr, weight_decay, per_gpu, loss_scale, paramwise, is_3x = OFFICIAL_DET[name]
    cfg = load('det', name)
    wrapper = cfg.optim_wrapper
    assert (wrapper.type, wrapper.get('loss_scale', 'dynamic')) == ('AmpOptimWrapper', loss_scale)
    assert (wrapper.optimizer.type, wrapper.optimizer.lr, wrapper.optimizer.weight_decay,
            wrapper.optimizer.get('betas', (0.9, 0.999))) == \
        ('AdamW', lr, weight_decay, (0.9, 0.999))
    rule = wrapper.get('paramwise_cfg', {})
    expected_rule = {'none': {}, 'keys': dict(custom_keys=SUBSTRING_KEYS),
                     'keys+norms': dict(norm_decay_mult=0.,
                                        custom_keys=dict(SUBSTRING_KEYS, rpe_table=0.))}
    as_plain = {k: ({key: v['decay_mult'] for key, v in v.items()} if k == 'custom_keys'
                    else v) for k, v in rule.items()}
    assert as_plain == expected_rule[paramwise]
    assert cfg.train_dataloader.batch_size == per_gpu
    assert cfg.auto_scale_lr.base_batch_size == 8 * per_gpu
    # fp16 evaluation (wrap_fp16_model in the official tools/test.py), every epoch.
    assert cfg.val_cfg.fp16 and cfg.test_cfg.fp16 and cfg.train_cfg.val_interval == 1
    assert (cfg.default_hooks.checkpoint.interval,
            cfg.default_hooks.checkpoint.max_keep_ckpts) == (1, 1)
    assert cfg.train_cfg.max_epochs == (36 if is_3x else 12)
    # DDP: RetinaNet's FPN skips stage 0 (official find_unused_parameters=True).
    assert cfg.get('find_unused_parameters', False) == name.startswith('retinanet')
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN'
    pipeline = cfg.train_dataloader.dataset.pipeline
    if is_3x:  # the official AutoAugment policy: multi-scale, or resize-crop-resize
        assert pipeline[3].type == 'RandomChoice'
        assert pipeline[3].transforms[0][0].scales == [(s, 1333) for s in range(480, 801, 32)]
        assert pipeline[3].transforms[1][1].crop_size == (384, 600)
    else:
        assert pipeline[2].scale == (1333, 800)


def simulate_lr(cfg, base_lr, epochs, epoch_length):
    """The lr of every iteration (list of lists, one per epoch) of ``cfg.param_scheduler``, as
    mmengine's ParamSchedulerHook steps it: iteration-based schedulers after each iteration,
    epoch-based ones after each epoch."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import PARAM_SCHEDULERS

    import rmt_mm.engine  # noqa: F401  (rmt_mm.TimmCosineLR)
    model = torch.nn.Linear(1, 1)
    wrapper = build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=base_lr)))
    schedulers = []
    for sched in cfg.param_scheduler:
        sched = dict(sched)
        if sched.pop('convert_to_iter_based', False):
            cls = PARAM_SCHEDULERS.get(sched.pop('type'))
            schedulers.append(cls.build_iter_from_epoch(wrapper.optimizer, **sched,
                                                        epoch_length=epoch_length))
        else:
            schedulers.append(PARAM_SCHEDULERS.build(dict(sched, optimizer=wrapper.optimizer)))
    lrs = []
    for _ in range(epochs):
        epoch = []
        for _ in range(epoch_length):
            epoch.append(wrapper.optimizer.param_groups[0]['lr'])
            for sched in schedulers:
                if not sched.by_epoch:
                    sched.step()
        lrs.append(epoch)
        for sched in schedulers:
            if sched.by_epoch:
                sched.step()
    return lrs


def mmcv_warmup(i, warmup_iters, ratio):
    """mmcv 1.x linear warm-up factor at iteration ``i`` (mmcv/runner/hooks/lr_updater.py)."""
    if i >= warmup_iters:
        return 1.0
    return 1 - (1 - i / warmup_iters) * (1 - ratio)


@pytest.mark.parametrize('name, steps', [('mask_rcnn_rmt_t_fpn_1x_coco', (8, 11)),
                                         ('cascade_mask_rcnn_rmt_s_fpn_ms_3x_coco', (27, 33))])
def test_det_schedule_equals_mmcv_step_with_warmup(name, steps):
    cfg = load('det', name)
    epochs, epoch_length = cfg.train_cfg.max_epochs, 600
    lrs = simulate_lr(cfg, 4e-4, epochs, epoch_length)

    def official(epoch, i):  # mmcv StepLrUpdater: 0.1 per passed step, warm-up by iteration
        return 4e-4 * 0.1 ** sum(epoch >= s for s in steps) * mmcv_warmup(
            epoch * epoch_length + i, 500, 0.001)

    points = [(0, 0), (0, 250), (0, 499), (0, 500), (0, 599), (1, 0),
              (steps[0] - 1, 599), (steps[0], 0), (steps[1] - 1, 599), (steps[1], 0),
              (epochs - 1, 599)]
    for epoch, i in points:
        assert lrs[epoch][i] == pytest.approx(official(epoch, i), rel=1e-9), (epoch, i)


# ----------------------------------------------------------------------------- segmentation
@pytest.mark.parametrize('name', sorted(OFFICIAL_SEG))
def test_seg_recipe_equals_the_official_config(name):
    _, lr, weight_decay, loss_scale, paramwise, iters, interval, kept = OFFICIAL_SEG[name]
    cfg = load('seg', name)
    wrapper = cfg.optim_wrapper
    assert wrapper.type == ('OptimWrapper' if loss_scale is None else 'AmpOptimWrapper')
    assert wrapper.get('loss_scale') == loss_scale
    assert (wrapper.optimizer.type, wrapper.optimizer.lr, wrapper.optimizer.weight_decay) == \
        ('AdamW', lr, weight_decay)
    custom = wrapper.get('paramwise_cfg', {}).get('custom_keys', {})
    assert {k: v['decay_mult'] for k, v in custom.items()} == \
        (SUBSTRING_KEYS if paramwise == 'keys' else {})
    assert set(wrapper.get('paramwise_cfg', {})) <= {'custom_keys'}
    assert cfg.train_dataloader.batch_size == 2 and cfg.auto_scale_lr.base_batch_size == 16
    assert cfg.train_cfg.max_iters == iters
    assert cfg.train_cfg.val_interval == cfg.default_hooks.checkpoint.interval == interval
    assert cfg.default_hooks.checkpoint.get('max_keep_ckpts', -1) == kept
    fp16 = loss_scale is not None  # the official test runs fp16 where training does
    assert bool(cfg.val_cfg.get('fp16')) == fp16 and bool(cfg.test_cfg.get('fp16')) == fp16
    assert cfg.model.test_cfg.mode == 'whole'
    assert cfg.crop_size == (512, 512) and cfg.model.data_preprocessor.size == (512, 512)
    assert cfg.tta_model.type == 'SegTTAModel' and cfg.tta_pipeline
    if name.startswith('upernet'):  # RMT_upper.py: FCN auxiliary head on stage 3, weight 0.4
        assert cfg.model.auxiliary_head.in_index == 2
        assert cfg.model.auxiliary_head.loss_decode.loss_weight == 0.4


def simulate_iters(cfg, base_lr, iters):
    return simulate_lr(cfg, base_lr, 1, iters)[0]


def test_fpn_schedule_equals_mmcv_poly():
    cfg = load('seg', 'fpn_rmt_t_80k_ade20k_512x512')
    lrs = simulate_iters(cfg, 1e-4, 80000)
    for i in (0, 1, 1000, 40000, 79000, 79999):  # mmcv PolyLrUpdater, min_lr 1e-6
        official = (1e-4 - 1e-6) * (1 - i / 80000) ** 0.9 + 1e-6
        assert lrs[i] == pytest.approx(official, rel=1e-9), i


def test_upernet_schedule_equals_mmcv_poly_under_warmup():
    cfg = load('seg', 'upernet_rmt_s_160k_ade20k_512x512')
    lrs = simulate_iters(cfg, 6e-5, 160000)
    for i in (0, 1, 750, 1499, 1500, 1501, 80000, 159999):
        # mmcv: the warm-up multiplies the poly lr, which starts at iteration 0.
        official = 6e-5 * (1 - i / 160000) ** 1.0 * mmcv_warmup(i, 1500, 1e-6)
        assert lrs[i] == pytest.approx(official, rel=1e-6, abs=1e-15), i


# ----------------------------------------------------------------------------- ImageNet
@pytest.mark.parametrize('name', CLS_VARIANTS)
def test_cls_recipe_equals_the_official_script(name):
    o = OFFICIAL_CLS
    cfg = load('cls', name)
    wrapper = cfg.optim_wrapper
    assert (wrapper.type, wrapper.get('loss_scale', 'dynamic')) == ('AmpOptimWrapper', 'dynamic')
    assert (wrapper.optimizer.lr, wrapper.optimizer.weight_decay, wrapper.optimizer.eps) == \
        (o['lr_per_512'], o['weight_decay'], o['eps'])
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=512)
    assert wrapper.paramwise_cfg == dict(norm_decay_mult=0.0, bias_decay_mult=0.0,
                                         flat_decay_mult=0.0)
    assert (cfg.train_dataloader.batch_size, cfg.val_dataloader.batch_size) == \
        (o['batch'], o['eval_batch'])
    assert cfg.train_dataloader.drop_last is True
    assert cfg.train_dataloader.sampler.type == 'RepeatAugSampler'
    assert cfg.sync_bn == 'torch' and cfg.env_cfg.cudnn_benchmark is True
    assert cfg.randomness.seed == 0 and cfg.randomness.diff_rank_seed  # seed 0 + rank
    assert cfg.train_cfg.max_epochs == o['epochs'] and cfg.train_cfg.val_interval == 1
    assert cfg.val_cfg.type == 'rmt_mm.RawAndEMAValLoop' and cfg.val_cfg.fp16
    assert cfg.test_cfg.fp16
    assert cfg.default_hooks.checkpoint.save_best == 'raw_or_ema/accuracy/top1'
    (ema, ) = [h for h in cfg.custom_hooks if 'EMA' in h.type]
    assert (ema.type, ema.decay, ema.base_batch_size) == \
        ('rmt_mm.BatchScaledEMAHook', o['ema_decay'], 512)
    assert cfg.model.head.loss.label_smooth_val == o['smoothing']
    assert [(a.type, a.alpha) for a in cfg.model.train_cfg.augments] == \
        [('Mixup', o['mixup']), ('CutMix', o['cutmix'])]
    erasing = cfg.train_pipeline[4]
    assert (erasing.type, erasing.erase_prob, erasing.mode) == \
        ('RandomErasing', o['reprob'], 'rand')  # timm 'pixel'
    assert [t['type'] for t in cfg.test_pipeline[1:3]] == \
        ['ResizeEdge', 'CenterCrop']
    assert (cfg.test_pipeline[1].scale, cfg.test_pipeline[2].crop_size) == (256, 224)


@pytest.mark.parametrize('name, log, epochs', [
    ('rmt_t_in1k', 'rmt_t_train_lr.json', 300),
    ('rmt_s_token_label_in1k', 'rmt_s_label_train_lr.json', 310),
])
def test_cls_schedule_equals_every_epoch_of_the_official_log(name, log, epochs):
    """RMT_log/rmt_t.txt and rmt_s_label.txt: the lr of every epoch at a total batch of 2048."""
    with open(osp.join(FIXTURES, log)) as f:
        logged = json.load(f)['train_lr']
    cfg = load('cls', name)
    assert cfg.train_cfg.max_epochs == epochs
    scaled = cfg.optim_wrapper.optimizer.lr * 16 * 128 / cfg.auto_scale_lr.base_batch_size
    lrs = simulate_lr(cfg, scaled, epochs, 3)
    assert len(logged) == epochs
    for epoch, (ours, official) in enumerate(zip(lrs, logged)):
        assert ours[0] == ours[-1]  # stepped per epoch
        assert ours[0] == pytest.approx(official, rel=1e-3), epoch


def test_ema_momentum_follows_the_total_batch():
    from rmt_mm.engine import BatchScaledEMAHook
    hook = BatchScaledEMAHook(decay=0.99996, base_batch_size=512)
    assert hook.momentum_for(2048) == pytest.approx(1 - 0.99996 ** 4)
    assert hook.momentum_for(2048) == pytest.approx(1.59990e-4, rel=1e-4)
    assert hook.momentum_for(512) == pytest.approx(4e-5)
    assert hook.ema_cfg['update_buffers'] is True  # BN statistics are averaged too


def test_384_finetune_is_self_consistent():
    cfg = load('cls', 'rmt_s_in1k_384px')
    assert cfg.optim_wrapper.accumulative_counts == 2
    assert cfg.train_dataloader.batch_size == 64
    # 8 GPUs x 64 images per iteration is the batch its lr is given for.
    assert cfg.auto_scale_lr.base_batch_size == 8 * 64
    assert [t['type'] for t in cfg.test_pipeline[1:3]] == \
        ['ResizeEdge', 'CenterCrop']
    assert (cfg.test_pipeline[1].scale, cfg.test_pipeline[2].crop_size) == (384, 384)


# ----------------------------------------------------------------------------- weight decay
def official_decay(name, weight_decay, paramwise, is_norm):
    """mmcv 1.x DefaultOptimizerConstructor: the first custom key (sorted) that is a substring
    of the parameter's name sets its decay; otherwise norm_decay_mult for norm layers."""
    keys = dict(SUBSTRING_KEYS) if paramwise != 'none' else {}
    for key in sorted(keys, key=lambda k: (-len(k), k)):
        if key in name:
            return weight_decay * keys[key]
    if paramwise == 'keys+norms' and is_norm:
        return 0.0
    return weight_decay


@pytest.mark.parametrize('task, name, paramwise', [
    ('det', 'mask_rcnn_rmt_t_fpn_1x_coco', 'keys'),
    ('det', 'retinanet_rmt_t_fpn_1x_coco', 'none'),
    ('det', 'cascade_mask_rcnn_rmt_s_fpn_ms_3x_coco', 'keys+norms'),
    ('seg', 'upernet_rmt_s_160k_ade20k_512x512', 'keys'),
    ('seg', 'fpn_rmt_t_80k_ade20k_512x512', 'none'),
])
def test_weight_decay_per_parameter_equals_the_official_rule(task, name, paramwise):
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import MODELS, init_default_scope
    from torch.nn.modules.batchnorm import _BatchNorm
    cfg = load(task, name)
    init_default_scope(cfg.default_scope)
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    wrapper_cfg = dict(cfg.optim_wrapper, type='OptimWrapper')
    wrapper_cfg.pop('loss_scale', None)
    wrapper = build_optim_wrapper(model, wrapper_cfg)
    decay_of = {id(p): g['weight_decay'] for g in wrapper.optimizer.param_groups
                for p in g['params']}
    norm_params = {id(p) for m in model.modules()
                   if isinstance(m, (_BatchNorm, torch.nn.LayerNorm, torch.nn.GroupNorm))
                   for p in m.parameters(recurse=False)}
    weight_decay = cfg.optim_wrapper.optimizer.weight_decay
    without = []
    for pname, p in model.named_parameters():
        expected = official_decay(pname, weight_decay, paramwise, id(p) in norm_params)
        assert decay_of[id(p)] == pytest.approx(expected), pname
        if expected == 0:
            without.append(pname)
    if paramwise != 'none':
        # The stem's BatchNorms keep their decay under the substring rule alone.
        stem_bn = 'backbone.patch_embed.proj.1.weight'
        assert (stem_bn in without) == (paramwise == 'keys+norms')
        assert 'backbone.layers.0.downsample.norm.weight' in without
    else:
        assert without == []


# ----------------------------------------------------------------------------- gradients
def tiny(task, name):
    from task_configs import set_num_classes, shrink_model
    cfg = load(task, name)
    if task == 'cls':
        from helpers import TINY_ARCH
        cfg.model.backbone.update(arch=TINY_ARCH, drop_path_rate=0.0)
        cfg.model.neck.in_channels = TINY_ARCH['embed_dims'][-1]
        # mmpretrain's runner puts the top-level data_preprocessor into the model.
        cfg.model.data_preprocessor = dict(cfg.data_preprocessor, num_classes=3)
    else:
        shrink_model(cfg)
    set_num_classes(cfg.model, 3)
    return cfg


def det_batch():
    from mmdet.testing import demo_mm_inputs
    return demo_mm_inputs(batch_size=2, image_shapes=[(3, 96, 128)] * 2, num_items=[3, 2],
                          num_classes=3, with_mask=True)


def seg_batch():
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    samples = []
    for _ in range(2):
        sample = SegDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64),
                                             pad_shape=(64, 64)))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 3, (1, 64, 64)))
        samples.append(sample)
    return dict(inputs=[torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8)] * 2,
                data_samples=samples)


def cls_batch():
    from mmpretrain.structures import DataSample
    return dict(inputs=[torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8)] * 4,
                data_samples=[DataSample().set_gt_label(i % 3) for i in range(4)])


@pytest.mark.parametrize('task, name, unused', [
    ('cls', 'rmt_t_in1k', []),
    ('det', 'mask_rcnn_rmt_t_fpn_1x_coco', []),
    pytest.param('det', 'cascade_mask_rcnn_rmt_s_fpn_ms_3x_coco', [], marks=pytest.mark.slow),
    # FPN start_level=1: stage 0's output norm is never read.
    ('det', 'retinanet_rmt_t_fpn_1x_coco', ['backbone.extra_norms.0.bias',
                                            'backbone.extra_norms.0.weight']),
    ('seg', 'fpn_rmt_t_80k_ade20k_512x512', []),
    ('seg', 'upernet_rmt_s_160k_ade20k_512x512', []),
    # Recipes of ours: four-scale DINO reads stages 1-3, and stage 0's output norm is frozen.
    ('det', 'dino_4scale_rmt_s_12e_coco', []),
    ('det', 'dino_5scale_rmt_l_12e_coco', []),
    ('det', 'mask2former_rmt_s_lsj_50e_coco', []),
    ('seg', 'mask2former_rmt_s_160k_ade20k_512x512', []),
])
def test_every_trained_parameter_gets_a_gradient_or_ddp_is_told(task, name, unused):
    """What DDP needs: each parameter that requires grad receives one in a training step,
    or the config declares find_unused_parameters."""
    from mmengine.registry import MODELS, init_default_scope

    from rmt_mm.apis import adapt_to_cpu
    cfg = adapt_to_cpu(tiny(task, name))
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    model.init_weights()  # as the Runner does: DINO's level_embed is uninitialised before
    model.train()
    batch = {'det': det_batch, 'seg': seg_batch, 'cls': cls_batch}[task]()
    data = model.data_preprocessor(batch, training=True)
    losses = model(**data, mode='loss')
    loss, _ = model.parse_losses(losses)
    loss.backward()
    without_grad = sorted(n for n, p in model.named_parameters()
                          if p.requires_grad and p.grad is None)
    assert without_grad == unused
    assert bool(cfg.get('find_unused_parameters', False)) == bool(unused)
