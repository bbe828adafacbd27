"""Shrinking the detection and segmentation configs to CPU-sized test runs."""
import copy

from mmengine.config import Config

from helpers import TINY_ARCH

TINY_DIMS = TINY_ARCH['embed_dims']


def leaf_configs(folder):
    """Names of the leaf configs in a configs/ folder (no _base_ files)."""
    import glob
    import os.path as osp
    return {osp.splitext(osp.basename(p))[0] for p in glob.glob(osp.join(folder, '*.py'))}


def recipe_source(path):
    """The library config a recipe of ours names (its ``# Source: <lib> <ver> configs/...``
    line), as (library, path under configs/); None for a paper row."""
    import re
    with open(path) as f:
        found = re.search(r'^# Source: (mmdet|mmseg|mmpretrain) [\d.]+ configs/(\S+\.py)',
                          f.read(), re.M)
    return found.groups() if found else None


def load_recipe_source(path):
    """The resolved library config that the recipe at ``path`` names as its source."""
    import importlib
    import os.path as osp
    library, relative = recipe_source(path)
    root = osp.dirname(importlib.import_module(library).__file__)
    return Config.fromfile(osp.join(root, '.mim', 'configs', relative))


def paper_configs(folder):
    """The leaf configs of a folder that reproduce a row of the paper (no recipe source)."""
    import os.path as osp
    return {name for name in leaf_configs(folder)
            if recipe_source(osp.join(folder, name + '.py')) is None}


def build_and_count(path):
    """(config, number of parameters of the model it builds), in the config's own scope."""
    from mmengine.registry import MODELS, init_default_scope
    cfg = Config.fromfile(path)
    init_default_scope(cfg.default_scope)
    return cfg, sum(p.numel() for p in MODELS.build(cfg.model).parameters())


def set_num_classes(node, num_classes):
    """Set every class count in a nested config (heads, cascade stages, Mask2Former's
    things/stuff split and its per-class loss weights, the last one for "no object")."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ('num_classes', 'num_things_classes'):
                node[key] = num_classes
            elif key == 'num_stuff_classes':
                node[key] = 0
            elif key == 'class_weight' and isinstance(value, list):
                node[key] = [1.0] * num_classes + value[-1:]
            else:
                set_num_classes(value, num_classes)
    elif isinstance(node, list):
        for value in node:
            set_num_classes(value, num_classes)


def shrink_model(cfg):
    """A real config's model with the tiny RMT (no pretrained weights) and the layers that
    read its outputs resized: the neck, Mask2Former's head, or UperNet's decode and auxiliary
    heads."""
    backbone = cfg.model.backbone
    backbone.arch = copy.deepcopy(TINY_ARCH)
    backbone.init_cfg = None
    backbone.drop_path_rate = 0.0
    widths = [TINY_DIMS[i] for i in backbone.get('out_indices', range(len(TINY_DIMS)))]
    if 'num_queries' in cfg.model:  # DINO picks its queries among the encoder's tokens:
        cfg.model.num_queries = 100  # 900 of the ~430 of a 160x128 image cannot be chosen
    for augment in (cfg.model.get('data_preprocessor') or {}).get('batch_augments') or []:
        if 'size' in augment:  # LSJ's fixed-size pad (1024x1024), at the tests' image size
            augment.size = (128, 160)
    if 'neck' in cfg.model:
        cfg.model.neck.in_channels = widths
    elif 'panoptic_head' in cfg.model:
        cfg.model.panoptic_head.in_channels = widths
    else:
        cfg.model.decode_head.in_channels = widths
        if 'auxiliary_head' in cfg.model:
            cfg.model.auxiliary_head.in_channels = TINY_DIMS[cfg.model.auxiliary_head.in_index]


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


TINY_CLS_CONFIG = '''
model = dict(
    backbone=dict(arch=dict(_delete_=True, **{arch}), drop_path_rate=0.0),
    neck=dict(in_channels=128, out_channels=64),
    head=dict(num_classes=4, in_channels=64, topk=(1, )),
    train_cfg=None)
data_preprocessor = dict(num_classes=4)
loader = dict(batch_size=8, num_workers=0, persistent_workers=False)
train_dataloader = dict(**loader, sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = loader
test_dataloader = val_dataloader
''' + '''
# The short-run settings of the tiny classification configs (test_token_label.py too).
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(lr=2e-3, weight_decay=0.0))
auto_scale_lr = dict(enable=False)
param_scheduler = []
default_hooks = dict(logger=dict(interval=1))
randomness = dict(seed=0)
'''
TINY_CLS_RUN = TINY_CLS_CONFIG[TINY_CLS_CONFIG.index('# The short-run settings'):]


def quickstart_datasets(name, data_root):
    """The train and val dataset configs of configs/quickstart/NAME.py, reading data_root."""
    import os.path as osp

    from helpers import REPO
    quick = Config.fromfile(osp.join(REPO, 'configs', 'quickstart', name))
    datasets = [copy.deepcopy(quick[f'{split}_dataloader'].dataset) for split in ('train', 'val')]
    for dataset in datasets:
        dataset.data_root = data_root
    return datasets


def tiny_cls_config(data_root, max_epochs=12, base=None):
    """The RMT-T ImageNet config (or ``base``, a path or ``rmt_mm::`` name) with the tiny RMT
    on a generated ImageNet-format set (the quick start's data pipelines)."""
    import os
    import os.path as osp
    import tempfile

    from helpers import REPO
    base = base or osp.join(REPO, 'configs', 'cls', 'rmt_t_in1k.py')
    with tempfile.NamedTemporaryFile('w', suffix='.py', delete=False) as f:
        f.write(f"_base_ = ['{base}']\n" + TINY_CLS_CONFIG.format(arch=TINY_ARCH))
    try:
        cfg = Config.fromfile(f.name)
    finally:
        os.remove(f.name)
    train, val = quickstart_datasets('rmt_t_shapes_cls.py', data_root)
    cfg.train_dataloader.dataset, cfg.val_dataloader.dataset = train, val
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_cfg.max_epochs = cfg.train_cfg.val_interval = max_epochs
    cfg.default_hooks.checkpoint.interval = max_epochs
    return cfg


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
        loader.batch_size = 2
        loader.dataset.update(
            data_root=data_root, metainfo=metainfo,
            ann_file=f'annotations/instances_{split}.json', data_prefix=dict(img=f'{split}/'),
            pipeline=pipeline if split == 'train' else test_pipeline)
        if split == 'train':
            loader.dataset.filter_cfg = dict(filter_empty_gt=True, min_size=4)
    cfg.test_dataloader = cfg.val_dataloader
    _set_evaluator(cfg, data_root, with_mask)
    if cfg.train_cfg.get('type') == 'IterBasedTrainLoop':  # Mask2Former's LSJ schedule
        iterations = max_epochs * 8  # an 'epoch' of the generated set: 16 images, 2 a batch
        cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iterations)
        return _short_run(cfg, work_dir, iterations, [])
    cfg.train_cfg.max_epochs = max_epochs
    warmup = dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=5)
    return _short_run(cfg, work_dir, max_epochs, [warmup])


def _set_evaluator(cfg, data_root, with_mask):
    metrics = ['bbox', 'segm'] if with_mask else ['bbox']
    cfg.val_evaluator = dict(type='CocoMetric', metric=metrics,
                             ann_file=f'{data_root}/annotations/instances_val.json')
    cfg.test_evaluator = cfg.val_evaluator
    return cfg


def tiny_seg_config(path, data_root, work_dir, max_iters=8, slide=False):
    """A segmentation config with the tiny RMT on a generated ADE20K-format set read as the
    quick start reads it (background as class 0 of 4)."""
    cfg = Config.fromfile(path)
    shrink_model(cfg)
    crop = (64, 64)
    cfg.model.data_preprocessor.size = crop
    if slide:
        cfg.model.test_cfg = dict(mode='slide', crop_size=crop, stride=(43, 43))
    # The quick start's pipelines, at the tests' image and crop sizes.
    train, val = quickstart_datasets('fpn_rmt_t_shapes_seg.py', data_root)
    for transform in train.pipeline:
        if transform.type == 'RandomResize':
            transform.scale = (128, 96)
        elif transform.type == 'RandomCrop':
            transform.crop_size = crop
    set_num_classes(cfg.model, len(train.metainfo.classes))
    cfg.train_dataloader.dataset, cfg.val_dataloader.dataset = train, val
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_cfg.max_iters = max_iters
    return _short_run(cfg, work_dir, max_iters, [])


def _short_run(cfg, work_dir, length, param_scheduler):
    """Validate and checkpoint once at the end of ``length`` epochs or iterations."""
    cfg.train_cfg.val_interval = length
    cfg.default_hooks.checkpoint.interval = length
    cfg.default_hooks.logger.interval = 1
    cfg.param_scheduler = param_scheduler
    cfg.optim_wrapper.optimizer.lr = 1e-3
    cfg.randomness = dict(seed=0)
    cfg.work_dir = work_dir
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        loader.num_workers = 0
        loader.persistent_workers = False
    return cfg


def run_training(cfg, tmp_path, launch, args=()):
    """Dump ``cfg`` and train it with ``launch``: 'ours' (tools/train.py), 'dist2'
    (tools/dist_train.sh CONFIG 2 on a free port) or a library module whose own
    tools/train.py runs it (mmdet, mmseg), with the further command-line ``args``. Returns
    the dumped config's path and the text of the run's log file, then of its console (what
    the tools print before the runner, and with it the log file, exists)."""
    import glob
    import os
    import os.path as osp
    import subprocess
    import sys

    from helpers import REPO, free_port
    config = str(tmp_path / 'tiny_config.py')
    cfg.dump(config)
    env = dict(os.environ, PORT=free_port(), PYTHON=sys.executable)
    if launch == 'ours':
        command = [sys.executable, 'tools/train.py', config, '--device', 'cpu']
    elif launch == 'dist2':
        command = ['bash', 'tools/dist_train.sh', config, '2', '--device', 'cpu']
    else:
        tools = osp.join(osp.dirname(launch.__file__), '.mim', 'tools', 'train.py')
        command = [sys.executable, tools, config]
    run = subprocess.run([*command, *args], capture_output=True, text=True, timeout=1200, env=env,
                         cwd=REPO if launch in ('ours', 'dist2') else str(tmp_path))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    with open(glob.glob(osp.join(cfg.work_dir, '*', '*.log'))[0]) as f:
        return config, f.read() + run.stdout + run.stderr
