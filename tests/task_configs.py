"""Shrinking the detection and segmentation configs to CPU-sized test runs."""
import copy

from mmengine.config import Config

from conftest import TINY_ARCH

TINY_DIMS = TINY_ARCH['embed_dims']


def set_num_classes(node, num_classes):
    """Set every ``num_classes`` in a nested config (heads, cascade stages)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'num_classes':
                node[key] = num_classes
            else:
                set_num_classes(value, num_classes)
    elif isinstance(node, list):
        for value in node:
            set_num_classes(value, num_classes)


def shrink_model(cfg):
    """A real config's model with the tiny RMT, no pretrained weights."""
    backbone = cfg.model.backbone
    backbone.arch = copy.deepcopy(TINY_ARCH)
    backbone.init_cfg = None
    backbone.drop_path_rate = 0.0
    cfg.model.neck.in_channels = TINY_DIMS


def fewer_samples(cfg):
    """Fewer proposals and RoI samples: the heads stay real, the CPU work shrinks."""
    train_cfg, test_cfg = cfg.model.train_cfg, cfg.model.test_cfg
    if 'rpn_proposal' in train_cfg:
        train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=50)
        test_cfg.rpn.update(nms_pre=200, max_per_img=50)
        rcnn = train_cfg.rcnn if isinstance(train_cfg.rcnn, list) else [train_cfg.rcnn]
        for stage in rcnn:
            stage.sampler.num = 32
    # An untrained detector scores below mmdet's 0.05; keep every box so COCO eval has input.
    for node in (test_cfg, test_cfg.get('rcnn', {})):
        if 'score_thr' in node:
            node.score_thr = 0.0


def tiny_det_config(path, data_root, classes, work_dir, max_epochs=2, with_mask=True):
    cfg = Config.fromfile(path)
    shrink_model(cfg)
    set_num_classes(cfg.model, len(classes))
    fewer_samples(cfg)
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=with_mask),
        dict(type='Resize', scale=(160, 128), keep_ratio=True),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackDetInputs'),
    ]
    test_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(160, 128), keep_ratio=True),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=with_mask),
        dict(type='PackDetInputs',
             meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
    ]
    metainfo = dict(classes=tuple(classes))
    for split, loader in (('train', cfg.train_dataloader), ('val', cfg.val_dataloader)):
        loader.num_workers = 0
        loader.persistent_workers = False
        loader.batch_size = 2
        loader.dataset.update(
            data_root=data_root, metainfo=metainfo,
            ann_file=f'annotations/instances_{split}.json', data_prefix=dict(img=f'{split}/'),
            pipeline=pipeline if split == 'train' else test_pipeline)
        if split == 'train':
            loader.dataset.filter_cfg = dict(filter_empty_gt=True, min_size=4)
    cfg.test_dataloader = cfg.val_dataloader
    metrics = ['bbox', 'segm'] if with_mask else ['bbox']
    cfg.val_evaluator = dict(type='CocoMetric', metric=metrics,
                             ann_file=f'{data_root}/annotations/instances_val.json')
    cfg.test_evaluator = cfg.val_evaluator
    cfg.train_cfg.max_epochs = max_epochs
    cfg.train_cfg.val_interval = max_epochs
    cfg.param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
                                end=5)]
    cfg.optim_wrapper.optimizer.lr = 1e-3
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = max_epochs
    cfg.randomness = dict(seed=0)
    cfg.work_dir = work_dir
    return cfg


def tiny_seg_config(path, data_root, classes, work_dir, max_iters=8, slide=False):
    cfg = Config.fromfile(path)
    shrink_model(cfg) if 'neck' in cfg.model else _shrink_upernet(cfg)
    set_num_classes(cfg.model, len(classes))
    crop = (64, 64)
    cfg.model.data_preprocessor.size = crop
    if slide:
        cfg.model.test_cfg = dict(mode='slide', crop_size=crop, stride=(43, 43))
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', reduce_zero_label=True),
        dict(type='RandomResize', scale=(128, 96), ratio_range=(0.75, 1.5), keep_ratio=True),
        dict(type='RandomCrop', crop_size=crop, cat_max_ratio=0.75),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PhotoMetricDistortion'),
        dict(type='PackSegInputs'),
    ]
    test_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(128, 96), keep_ratio=True),
        dict(type='LoadAnnotations', reduce_zero_label=True),
        dict(type='PackSegInputs'),
    ]
    for split, loader in (('training', cfg.train_dataloader), ('validation', cfg.val_dataloader)):
        loader.num_workers = 0
        loader.persistent_workers = False
        loader.dataset = dict(
            type='BaseSegDataset', data_root=data_root, reduce_zero_label=True,
            metainfo=dict(classes=tuple(classes)), img_suffix='.jpg', seg_map_suffix='.png',
            data_prefix=dict(img_path=f'images/{split}', seg_map_path=f'annotations/{split}'),
            pipeline=train_pipeline if split == 'training' else test_pipeline)
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_cfg.max_iters = max_iters
    cfg.train_cfg.val_interval = max_iters
    cfg.param_scheduler = []
    cfg.optim_wrapper.optimizer.lr = 1e-3
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = max_iters
    cfg.randomness = dict(seed=0)
    cfg.work_dir = work_dir
    return cfg


def _shrink_upernet(cfg):
    backbone = cfg.model.backbone
    backbone.arch = copy.deepcopy(TINY_ARCH)
    backbone.init_cfg = None
    backbone.drop_path_rate = 0.0
    cfg.model.decode_head.in_channels = TINY_DIMS
    cfg.model.auxiliary_head.in_channels = TINY_DIMS[2]
