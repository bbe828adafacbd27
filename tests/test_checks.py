"""rmt_mm.apis.checks: what the tools check in a config before anything is built."""
import glob
import os
import os.path as osp

import pytest
from mmengine.config import Config

from helpers import REPO
from task_configs import set_num_classes

SHIPPED = sorted(p for p in glob.glob(osp.join(REPO, 'configs', '*', '*.py'))
                 if '/_base_/' not in p and not p.endswith('_base_'))


def seven_classes(cfg, loader):
    """The loader's dataset (the innermost of its wrappers) with 7 classes of the user's
    (no shipped config has 7)."""
    dataset = cfg[loader].dataset
    while 'dataset' in dataset:
        dataset = dataset.dataset
    dataset.metainfo = dict(classes=tuple('abcdefg'))


@pytest.mark.parametrize('path', SHIPPED, ids=lambda p: osp.relpath(p, REPO))
def test_every_class_count_field_of_every_shipped_head_is_checked(path):
    """Each shipped config passes as it is; with a 7-class dataset, the error names every
    field that fixes the class count (each cascade stage, Mask2Former's things and loss
    weights, DINO's, ...), and once they are all set for 7 classes it passes again."""
    import rmt_mm  # noqa: F401  (rmt_mm:: bases)
    from rmt_mm.apis import check_num_classes, class_count_fields
    cfg = Config.fromfile(path)
    for loader in ('train_dataloader', 'test_dataloader'):
        check_num_classes(cfg, loader)
    fields = [count.field for count in class_count_fields(cfg.model)]
    assert fields and not any('rpn_head' in field for field in fields)
    seven_classes(cfg, 'train_dataloader')
    with pytest.raises(ValueError) as error:
        check_num_classes(cfg)
    named = str(error.value).split(' in ')[0]
    assert all(field in named for field in fields), (fields, named)
    set_num_classes(cfg.model, 7)
    if isinstance(cfg.get('data_preprocessor'), dict) and 'num_classes' in cfg.data_preprocessor:
        cfg.data_preprocessor.num_classes = 7
    check_num_classes(cfg)


def test_class_count_fields_of_the_heads_that_have_no_num_classes():
    from rmt_mm.apis import class_count_fields
    model = dict(
        panoptic_head=dict(type='Mask2FormerHead', num_things_classes=80, num_stuff_classes=53,
                           loss_cls=dict(type='CrossEntropyLoss', class_weight=[1.0] * 133
                                         + [0.1])),
        decode_head=dict(type='UPerHead', num_classes=19,
                         loss_decode=[dict(type='CrossEntropyLoss', class_weight=[1.0] * 19),
                                      dict(type='DiceLoss')]),
        rpn_head=dict(type='RPNHead', num_classes=1))
    counts = {c.field: (c.shown, c.classes, c.fix(5)) for c in class_count_fields(model)}
    assert counts == {
        'model.panoptic_head.num_things_classes': (
            '80 (num_stuff_classes=53)', 133,
            'model.panoptic_head.num_things_classes + num_stuff_classes to 5'),
        'model.panoptic_head.loss_cls.class_weight': (
            '[134 entries]', 133, 'model.panoptic_head.loss_cls.class_weight to [1.0] * 5 + '
            '[0.1] (5 classes, then "no object")'),
        'model.decode_head.num_classes': ('19', 19, 'model.decode_head.num_classes to 5'),
        'model.decode_head.loss_decode[0].class_weight': (
            '[19 entries]', 19, 'model.decode_head.loss_decode[0].class_weight to a list of 5 '
            'weights'),
    }


def test_coco_evaluators_follow_the_annotation_file_of_their_dataset(tmp_path, monkeypatch):
    from rmt_mm.apis import checks, evaluators_follow_datasets
    logged = []
    monkeypatch.setattr(checks, 'print_log', lambda message, **kwargs: logged.append(message))
    root = str(tmp_path / 'mine')
    cfg = Config(dict(
        val_dataloader=dict(dataset=dict(type='RepeatDataset', times=2, dataset=dict(
            type='CocoDataset', data_root=root, ann_file='annotations/val.json'))),
        val_evaluator=[dict(type='CocoMetric', ann_file='data/coco/annotations/val.json'),
                       dict(type='mmengine.DumpResults', out_file_path='out.pkl')],
        test_dataloader=dict(dataset=dict(type='CocoDataset', data_root='data/coco/',
                                          ann_file='annotations/test.json')),
        test_evaluator=dict(type='mmdet.CocoMetric', ann_file='data/coco/annotations/test.json'),
    ))
    evaluators_follow_datasets(cfg)
    assert cfg.val_evaluator[0].ann_file == osp.join(root, 'annotations/val.json')
    assert cfg.val_evaluator[1] == dict(type='mmengine.DumpResults', out_file_path='out.pkl')
    assert cfg.test_evaluator.ann_file == 'data/coco/annotations/test.json'  # already its own
    [message] = logged  # the test evaluator's file was already its dataset's
    assert message.startswith(f'val_evaluator[0].ann_file: data/coco/annotations/val.json -> '
                              f'{root}/annotations/val.json, the annotation file of '
                              'val_dataloader.dataset.dataset')


@pytest.mark.parametrize('config, change, message', [
    ('det/mask_rcnn_rmt_s_fpn_1x_coco.py', dict(backbone=dict(arch='b')),
     r'model.neck.in_channels=\[64, 128, 256, 512\] does not match the backbone: RMT '
     r"arch='b' .* channels \[80, 160, 320, 512\]; set it to \[80, 160, 320, 512\]"),
    ('seg/upernet_rmt_s_160k_ade20k_512x512.py', dict(decode_head=dict(in_index=[0, 1, 2])),
     r'model.decode_head.in_channels=\[64, 128, 256, 512\] .* set it to \[64, 128, 256\]'),
    ('seg/upernet_rmt_s_160k_ade20k_512x512.py', dict(auxiliary_head=dict(in_channels=512)),
     r'model.auxiliary_head.in_channels=512 .*in_index=2.*set it to 256'),
    ('cls/rmt_l_in1k.py', dict(neck=dict(in_channels=512)),
     r'model.neck.in_channels=512 .*set it to 640'),
])
def test_channel_mismatch_is_a_clear_error(config, change, message):
    from rmt_mm.apis import check_model_channels
    cfg = Config.fromfile(osp.join(REPO, 'configs', config))
    check_model_channels(cfg.model)  # the shipped config is consistent
    cfg.merge_from_dict(dict(model=change))
    with pytest.raises(ValueError, match=message):
        check_model_channels(cfg.model)


def test_wrong_data_root_fails_before_training_with_the_path(tmp_path, monkeypatch):
    from rmt_mm.apis import build_runner
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '')  # what --device cpu sets, undone after
    cfg = Config.fromfile(osp.join(REPO, 'configs/det/mask_rcnn_rmt_t_fpn_1x_coco.py'))
    cfg.work_dir = str(tmp_path)
    expected = osp.abspath('data/coco/')
    with pytest.raises(FileNotFoundError) as error:
        build_runner(cfg, device='cpu')
    assert 'train_dataloader.dataset.data_root' in str(error.value)
    assert expected in str(error.value)
    # The page it sends the user to has the section it names.
    assert 'configs/det/README.md, "Data preparation"' in str(error.value)
    assert '\n## Data preparation\n' in open(osp.join(REPO, 'configs/det/README.md')).read()
    os.makedirs(tmp_path / 'coco')
    cfg.train_dataloader.dataset.data_root = str(tmp_path / 'coco')
    with pytest.raises(FileNotFoundError, match='instances_train2017.json'):
        build_runner(cfg, device='cpu')
