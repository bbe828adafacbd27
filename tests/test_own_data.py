"""Your own data (docs/own_data.md): the guide's example configs train and evaluate on
generated sets with class counts of their own (5, not COCO's 80, ADE20K's 150 or ImageNet's
1000), read from the layout the guide describes; a user's mistakes stop with errors that name
the field and the file."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from helpers import REPO, printed_metrics, read_scalars, run_python
from task_configs import _short_run, fewer_samples, run_training, shrink_model

CUSTOM = osp.join(REPO, 'configs', 'custom')
DET = osp.join(CUSTOM, 'mask_rcnn_rmt_s_fpn_1x_custom.py')
MASK2FORMER = osp.join(CUSTOM, 'mask2former_rmt_s_lsj_50e_custom.py')
SEG = osp.join(CUSTOM, 'upernet_rmt_s_160k_custom_512x512.py')
CLS = osp.join(CUSTOM, 'rmt_s_custom_cls.py')


def loaders(cfg):
    return [cfg.train_dataloader, cfg.val_dataloader]


def make_det_set(root):
    from rmt_mm.datasets import make_coco_instance_set
    return make_coco_instance_set(root, Config.fromfile(DET).metainfo['classes'])


def make_seg_set(root):
    """The guide's layout: images/{training,validation}/*.jpg and label PNGs of class indices
    (0 = background, the config's first class)."""
    from rmt_mm.datasets import make_ade_semantic_set
    return make_ade_semantic_set(root, Config.fromfile(SEG).metainfo['classes'][1:])


@pytest.fixture(scope='module')
def det_root(tmp_path_factory):
    return make_det_set(str(tmp_path_factory.mktemp('my_coco')))


@pytest.fixture(scope='module')
def seg_root(tmp_path_factory):
    return make_seg_set(str(tmp_path_factory.mktemp('my_seg')))


def small(cfg, data_root, work_dir, length):
    """The config as it is but for the CPU: the tiny RMT, small images, a short run, its
    data_root pointed at the generated set (what the guide's --cfg-options line does)."""
    shrink_model(cfg)
    for loader in loaders(cfg):
        loader.dataset.data_root = data_root
        loader.batch_size = 2
        for transform in loader.dataset.pipeline:
            kind = transform.type
            if kind in ('Resize', 'RandomResize'):
                transform.scale = (160, 128)
            elif kind == 'RandomCrop':
                transform.crop_size = (64, 64)
            elif kind in ('RandomResizedCrop', 'CenterCrop', 'ResizeEdge'):
                transform[{'RandomResizedCrop': 'scale', 'CenterCrop': 'crop_size',
                           'ResizeEdge': 'scale'}[kind]] = 64
    cfg.test_dataloader = cfg.val_dataloader
    return _short_run(cfg, work_dir, length, [])


def data_root_options(root, loaders=('train_dataloader', 'val_dataloader')):
    """The data-root error's suggestion, as a user types it after ``--cfg-options``."""
    return [f'{loader}.dataset.data_root={root}' for loader in loaders]


@pytest.mark.slow
def test_detection_on_a_coco_format_set_of_5_classes(det_root, tmp_path):
    cfg = Config.fromfile(DET)
    assert cfg.train_dataloader.dataset.metainfo.classes == (
        'disk', 'square', 'triangle', 'cross', 'ring')
    work_dir = str(tmp_path / 'work')
    cfg = small(cfg, det_root, work_dir, 1)
    fewer_samples(cfg)
    cfg.train_cfg.max_epochs = 1
    # The data set as the guide's error message says: --cfg-options ...data_root=PATH; the
    # config's evaluator still names data/my_coco/annotations/instances_val.json (fixed when
    # the config was parsed), and follows the validation set's file.
    for loader in loaders(cfg):
        loader.dataset.data_root = 'data/my_coco/'
    assert cfg.val_evaluator.ann_file == 'data/my_coco/annotations/instances_val.json'
    # Trained and evaluated (COCO bbox and segm mAP on the validation file); tools/test.py of
    # this recipe's model is tested in test_det_suite.py.
    _, log = run_training(cfg, tmp_path, 'ours',
                          ['--cfg-options', *data_root_options(det_root)])
    val_file = osp.join(det_root, 'annotations/instances_val.json')
    assert ('val_evaluator.ann_file: data/my_coco/annotations/instances_val.json -> '
            f'{val_file}') in log
    assert [r for r in read_scalars(work_dir) if 'coco/segm_mAP' in r]
    # The checkpoint names the 5 classes (what the inferencer labels its boxes with).
    import torch
    meta = torch.load(osp.join(work_dir, 'epoch_1.pth'), weights_only=False)['meta']
    assert meta['dataset_meta']['classes'] == ('disk', 'square', 'triangle', 'cross', 'ring')


@pytest.mark.slow
def test_mask2former_on_a_coco_format_set_of_5_classes(det_root, tmp_path):
    """The guide's Mask2Former config: 5 things classes in both heads and 6 loss weights."""
    cfg = Config.fromfile(MASK2FORMER)
    head = cfg.model.panoptic_head
    assert (head.num_things_classes, head.num_stuff_classes) == (5, 0)
    assert head.loss_cls.class_weight == [1.0] * 5 + [0.1]
    assert cfg.model.panoptic_fusion_head.num_things_classes == 5
    work_dir = str(tmp_path / 'work')
    # Two iterations and a validation: the 5-class heads train, and the fusion head predicts
    # 5 classes (the recipe itself trains in test_query_heads.py).
    cfg = small(cfg, det_root, work_dir, 2)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=2)
    cfg.model.test_cfg.max_per_image = 20
    run_training(cfg, tmp_path, 'ours')
    final = [r for r in read_scalars(work_dir) if 'coco/segm_mAP' in r]
    assert len(final) == 1
    import torch
    meta = torch.load(osp.join(work_dir, 'iter_2.pth'), weights_only=False)['meta']
    assert meta['dataset_meta']['classes'] == ('disk', 'square', 'triangle', 'cross', 'ring')


@pytest.mark.slow
def test_segmentation_on_a_folder_of_pngs_with_5_classes(seg_root, tmp_path):
    cfg = Config.fromfile(SEG)
    source = Config.fromfile(osp.join(REPO, 'configs', 'seg',
                                      'upernet_rmt_s_160k_ade20k_512x512.py'))
    for ours, paper in ((cfg.train_dataloader, source.train_dataloader),
                        (cfg.val_dataloader, source.val_dataloader)):
        for transform in paper.dataset.pipeline:  # the paper's pipelines, labels as they are
            if transform.type == 'LoadAnnotations':
                transform.reduce_zero_label = False
        assert ours.dataset.pipeline == paper.dataset.pipeline
    work_dir = str(tmp_path / 'work')
    cfg = small(cfg, seg_root, work_dir, 8)
    cfg.model.data_preprocessor.size = (64, 64)
    cfg.train_cfg.max_iters = 8
    config, _ = run_training(cfg, tmp_path, 'ours')
    final = [r for r in read_scalars(work_dir) if 'mIoU' in r][-1]
    test = run_python('tools/test.py', '--device', 'cpu', config,
                      osp.join(work_dir, 'iter_8.pth'), '--work-dir', str(tmp_path / 'test'))
    assert printed_metrics(test.stdout)['mIoU'] == pytest.approx(final['mIoU'], abs=1e-2)
    import torch
    meta = torch.load(osp.join(work_dir, 'iter_8.pth'), weights_only=False)['meta']
    assert meta['dataset_meta']['classes'] == Config.fromfile(SEG).metainfo['classes']


@pytest.mark.slow
def test_classification_on_an_image_folder_of_5_classes(tmp_path):
    from rmt_mm.datasets import make_classification_set
    root = make_classification_set(str(tmp_path / 'my_images'), num_classes=5, per_class=4)
    work_dir = str(tmp_path / 'work')
    cfg = small(Config.fromfile(CLS), root, work_dir, 2)
    cfg.model.backbone.drop_path_rate = 0.0
    cfg.model.neck.in_channels = cfg.model.backbone.arch['embed_dims'][-1]
    cfg.train_cfg.max_epochs = 2
    cfg.train_dataloader.sampler = dict(type='DefaultSampler', shuffle=True)
    # Trained and evaluated on val, the trained and the EMA weights (the paper's recipe).
    run_training(cfg, tmp_path, 'ours')
    final = [r for r in read_scalars(work_dir) if 'accuracy/top1' in r][-1]
    assert 'ema/accuracy/top1' in final
    import torch
    meta = torch.load(osp.join(work_dir, 'epoch_2.pth'), weights_only=False)['meta']
    assert len(meta['dataset_meta']['classes']) == 5  # the sub-folders


# ----------------------------------------------------------------------------- mistakes
def test_num_classes_that_do_not_match_the_classes_stop_train_py(det_root, tmp_path):
    result = run_python(
        'tools/train.py', DET, '--device', 'cpu', '--work-dir', str(tmp_path),
        '--cfg-options', f'train_dataloader.dataset.data_root={det_root}',
        f'val_dataloader.dataset.data_root={det_root}',
        'model.roi_head.mask_head.num_classes=80', check=False, timeout=300)
    assert result.returncode != 0
    assert ('model.roi_head.mask_head.num_classes=80 in '
            f'{DET}: train_dataloader.dataset names 5 classes') in result.stderr, \
        result.stderr[-2000:]
    assert 'bbox_head' not in result.stderr.splitlines()[-1]  # only the wrong field


def test_image_folder_class_count_is_checked_before_training(tmp_path):
    from rmt_mm.apis import check_num_classes
    from rmt_mm.datasets import make_classification_set
    root = make_classification_set(str(tmp_path), num_classes=4, per_class=1, splits=('train', ))
    cfg = Config.fromfile(CLS)
    cfg.train_dataloader.dataset.data_root = root
    with pytest.raises(ValueError, match=r'model.head.num_classes=5, '
                       r'data_preprocessor.num_classes=5 in .*rmt_s_custom_cls.py: '
                       r'train_dataloader.dataset names 4 classes \(cross, disk, square, '
                       r'triangle; the sub-folders of .*train\)'):
        check_num_classes(cfg)


def test_class_names_missing_from_the_annotation_file_are_named(det_root):
    from mmengine.registry import DATASETS, init_default_scope
    cfg = Config.fromfile(DET)
    init_default_scope('mmdet')
    dataset = dict(cfg.train_dataloader.dataset, data_root=det_root, pipeline=[],
                   metainfo=dict(classes=('disk', 'circle', 'square')))
    with pytest.raises(ValueError) as error:
        DATASETS.build(dataset)
    message = str(error.value)
    assert message.startswith(osp.join(det_root, 'annotations/instances_train.json'))
    assert "do not include ['circle']" in message
    assert "['disk', 'square', 'triangle', 'cross', 'ring']" in message
    # a subset of the file's classes, in the file's order, is fine (mmdet trains on those)
    subset = DATASETS.build(dict(dataset, metainfo=dict(classes=('disk', 'ring'))))
    assert len(subset) > 0
    with pytest.raises(ValueError, match=r"lists \('ring', 'disk'\), but the file's categories "
                       r"come in the order \('disk', 'ring'\)"):
        DATASETS.build(dict(dataset, metainfo=dict(classes=('ring', 'disk'))))


def _file_names_of_instances(dataset, ann_file):
    """The annotation file's category name of every instance of a built dataset, and the
    name the dataset's classes give its label, in the same order."""
    import json
    with open(ann_file) as f:
        coco = json.load(f)
    names = {c['id']: c['name'] for c in coco['categories']}
    by_box = {(a['image_id'], tuple(round(v, 2) for v in a['bbox'])): names[a['category_id']]
              for a in coco['annotations']}
    truth, named = [], []
    for info in map(dataset.get_data_info, range(len(dataset))):
        for instance in info['instances']:
            x0, y0, x1, y1 = instance['bbox']
            box = tuple(round(v, 2) for v in (x0, y0, x1 - x0, y1 - y0))
            truth.append(by_box[info['img_id'], box])
            named.append(dataset.metainfo['classes'][instance['bbox_label']])
    return truth, named


def test_classes_listed_in_another_order_stop_train_py_naming_both_orders(det_root, tmp_path):
    """mmdet numbers labels in the file's order and names them by metainfo.classes: the same
    names in another order would name every object after another class."""
    from mmengine.registry import DATASETS, init_default_scope
    reordered = ('ring', 'cross', 'triangle', 'square', 'disk')
    in_file_order = ('disk', 'square', 'triangle', 'cross', 'ring')
    ann_file = osp.join(det_root, 'annotations', 'instances_train.json')
    # What is refused: mmdet's own CocoDataset names a label by the wrong class.
    init_default_scope('mmdet')
    plain = DATASETS.build(dict(type='CocoDataset', data_root=det_root, pipeline=[],
                                ann_file='annotations/instances_train.json',
                                data_prefix=dict(img='train/'),
                                metainfo=dict(classes=reordered)))
    truth, named = _file_names_of_instances(plain, ann_file)
    assert truth and sum(t != n for t, n in zip(truth, named)) > len(truth) // 2
    # The guide's config with the names in another order: refused before anything is built.
    config = tmp_path / 'my_config.py'
    config.write_text(f"_base_ = '{DET}'\nmetainfo = dict(classes={reordered!r})\n"
                      'train_dataloader = dict(dataset=dict(metainfo=metainfo))\n'
                      'val_dataloader = dict(dataset=dict(metainfo=metainfo))\n')
    result = run_python('tools/train.py', str(config), '--device', 'cpu', '--work-dir',
                        str(tmp_path / 'work'), '--cfg-options', *data_root_options(det_root),
                        check=False, timeout=300)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f'ValueError: {ann_file}: metainfo.classes lists {reordered}, but '
                           f"the file's categories come in the order {in_file_order}"), last
    assert not osp.exists(tmp_path / 'work')  # nothing was built
    # In the file's order, every object is named by its own class.
    dataset = DATASETS.build(dict(Config.fromfile(DET).train_dataloader.dataset,
                                  data_root=det_root, pipeline=[]))
    truth, named = _file_names_of_instances(dataset, ann_file)
    assert truth and named == truth


def _user_config(tmp_path, base, text):
    path = tmp_path / 'my_config.py'
    path.write_text(f"_base_ = '{base}'\n" + text)
    return str(path)


def test_mask2former_coco_config_on_5_classes_stops_naming_every_class_count(det_root,
                                                                             tmp_path):
    """The user's data and classes on our Mask2Former COCO config, its heads left at 80."""
    config = _user_config(tmp_path, osp.join(REPO, 'configs', 'det',
                                             'mask2former_rmt_s_lsj_50e_coco.py'), f"""
metainfo = dict(classes=('disk', 'square', 'triangle', 'cross', 'ring'))
__data = dict(data_root='{det_root}', metainfo=metainfo, data_prefix=dict(_delete_=True, img=''))
train_dataloader = dict(dataset=dict(**__data, ann_file='annotations/instances_train.json'))
val_dataloader = dict(dataset=dict(**__data, ann_file='annotations/instances_val.json'))
""")
    result = run_python('tools/train.py', config, '--device', 'cpu', '--work-dir',
                        str(tmp_path / 'work'), check=False, timeout=300)
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(
        'ValueError: model.panoptic_head.num_things_classes=80 (num_stuff_classes=0), '
        'model.panoptic_head.loss_cls.class_weight=[81 entries], '
        'model.panoptic_fusion_head.num_things_classes=80 (num_stuff_classes=0) in '
        f'{config}: train_dataloader.dataset names 5 classes'), last
    assert ('set model.panoptic_head.num_things_classes to 5; '
            'model.panoptic_head.loss_cls.class_weight to [1.0] * 5 + [0.1]') in last
    assert not osp.exists(tmp_path / 'work')


def test_mask2former_ade_config_on_5_classes_names_the_loss_weights(seg_root, tmp_path):
    """num_classes set, the per-class loss weights forgotten: mmseg would stop at the first
    iteration with a bare size error."""
    config = _user_config(tmp_path, osp.join(REPO, 'configs', 'seg',
                                             'mask2former_rmt_s_160k_ade20k_512x512.py'), f"""
metainfo = dict(classes=('background', 'disk', 'square', 'triangle', 'cross'))
model = dict(decode_head=dict(num_classes=5))
train_dataloader = dict(dataset=dict(data_root='{seg_root}', metainfo=metainfo))
val_dataloader = dict(dataset=dict(data_root='{seg_root}', metainfo=metainfo))
""")
    result = run_python('tools/train.py', config, '--device', 'cpu', '--work-dir',
                        str(tmp_path / 'work'), check=False, timeout=300)
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(
        'ValueError: model.decode_head.loss_cls.class_weight=[151 entries] in '
        f'{config}: train_dataloader.dataset names 5 classes'), last
    assert 'model.decode_head.loss_cls.class_weight to [1.0] * 5 + [0.1]' in last


def test_label_pngs_with_values_that_are_not_classes_are_named(seg_root, tmp_path):
    import shutil

    from mmengine.registry import DATASETS, init_default_scope
    root = str(tmp_path / 'seg')
    shutil.copytree(seg_root, root)
    png = sorted(p for p in __import__('glob').glob(
        osp.join(root, 'annotations', 'training', '*.png')))[1]
    label = np.array(Image.open(png))
    label[:4, :4] = 7  # 5 classes: 0-4 and 255 only
    label[4:8, :4] = 255
    Image.fromarray(label).save(png)
    cfg = Config.fromfile(SEG)
    init_default_scope('mmseg')
    dataset = DATASETS.build(dict(cfg.train_dataloader.dataset, data_root=root))
    dataset[0]  # a good map passes
    with pytest.raises(ValueError, match=r'label values \[7\] are not classes') as error:
        dataset[1]
    message = str(error.value)
    assert message.startswith(png) and 'names 5' in message and '255 (ignore_index)' in message


# ----------------------------------------------------------------------------- the guide
def test_the_guide_lists_every_example_config_and_its_commands_name_real_files():
    import glob

    from helpers import readme_blocks
    guide = open(osp.join(REPO, 'docs', 'own_data.md')).read()
    shipped = sorted(osp.relpath(p, REPO) for p in glob.glob(osp.join(CUSTOM, '*.py')))
    assert shipped == sorted(osp.relpath(p, REPO) for p in (CLS, DET, MASK2FORMER, SEG))
    for path in shipped:
        assert f'(../{path})' in guide, path
    for block in readme_blocks('docs/own_data.md', 'bash'):
        for word in block.split():
            if word.startswith('configs/'):
                assert osp.isfile(osp.join(REPO, word)), word


def test_the_guide_s_shorter_schedule_line_gives_the_poly_decay_over_its_iterations():
    import shlex

    from mmengine.optim.scheduler import PolyLR

    from helpers import readme_blocks
    [block] = [b for b in readme_blocks('docs/own_data.md', 'bash') if 'max_iters=40000' in b]
    words = shlex.split(block.replace('\\\n', ' '))
    cfg = Config.fromfile(osp.join(REPO, words[2]))
    options = words[words.index('--cfg-options') + 1:]
    cfg.merge_from_dict(dict(option.split('=') for option in options))
    poly = cfg.param_scheduler[1]
    assert poly.type == 'PolyLR' and int(poly.end) == int(cfg.train_cfg.max_iters) + 1
    # mmengine's PolyLR with that end gives the paper's (mmcv's) lr x (1 - i / 40000) at
    # every iteration i of the 40000.
    import torch
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = PolyLR(optimizer, power=1.0, eta_min=0.0, begin=0, end=int(poly.end),
                       by_epoch=False)
    for i in range(40000):
        if i in (0, 1, 20000, 39999):
            assert optimizer.param_groups[0]['lr'] == pytest.approx(1 - i / 40000, abs=1e-9)
        scheduler.step()


def test_the_guide_s_mask2former_schedule_line_is_the_recipe_s_at_another_length():
    """50 epochs of a smaller set: the recipe's lr steps at the same fractions, validation at
    the end, as the recipe's 368750 iterations."""
    import shlex

    from helpers import readme_blocks
    [block] = [b for b in readme_blocks('docs/own_data.md', 'bash') if 'max_iters=25000' in b]
    words = shlex.split(block.replace('\\\n', ' '))
    assert words[2] == osp.relpath(MASK2FORMER, REPO)
    recipe = Config.fromfile(MASK2FORMER)
    cfg = Config.fromfile(MASK2FORMER)
    options = words[words.index('--cfg-options') + 1:]
    from mmengine.config import DictAction
    parsed = {}
    for option in options:
        key, value = option.split('=', 1)
        parsed[key] = DictAction._parse_iterable(value)
    cfg.merge_from_dict(parsed)
    assert 8000 * 50 // 16 == cfg.train_cfg.max_iters == cfg.param_scheduler.end
    for ours, theirs in zip(cfg.param_scheduler.milestones, recipe.param_scheduler.milestones):
        assert ours == int(theirs / recipe.train_cfg.max_iters * cfg.train_cfg.max_iters)
    [(start, interval)] = cfg.train_cfg.dynamic_intervals
    [(recipe_start, recipe_interval)] = recipe.train_cfg.dynamic_intervals
    assert interval == cfg.train_cfg.max_iters and recipe_interval == recipe.train_cfg.max_iters
    assert cfg.train_cfg.max_iters - start == pytest.approx(
        (recipe.train_cfg.max_iters - recipe_start) / recipe.train_cfg.max_iters
        * cfg.train_cfg.max_iters, abs=100)
