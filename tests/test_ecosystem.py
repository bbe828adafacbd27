"""rmt_mm through OpenMMLab's own entry points: configs inherited by scope in a downstream
project (``_base_ = 'rmt_mm::...'``)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import REPO, SHAPE_CLASSES, read_scalars
from task_configs import run_training, tiny_cls_config, tiny_det_config, tiny_seg_config

LEAVES = sorted(osp.relpath(p, osp.join(REPO, 'configs'))
                for task in ('cls', 'det', 'seg')
                for p in glob.glob(osp.join(REPO, 'configs', task, '*.py')))


def library_types():
    """type name -> the library scopes (mmdet, mmseg, mmpretrain) that register it."""
    import importlib

    from mmengine.registry import Registry
    found = {}
    for lib in ('mmdet', 'mmseg', 'mmpretrain'):
        registry = importlib.import_module(f'{lib}.registry')
        for sub in ('models', 'datasets', 'engine', 'evaluation', 'visualization'):
            importlib.import_module(f'{lib}.{sub}')
        for value in vars(registry).values():
            if isinstance(value, Registry) and value.scope == lib:
                for name in value.module_dict:
                    found.setdefault(name, set()).add(lib)
    return found


def unresolvable(node, where, types, out):
    """Dicts that mmengine gives the scope rmt_mm (written in our files) whose unqualified
    type is a library's: looked up in rmt_mm's registries, they are not found, or mmcv's
    generic transform is found instead of the library's own."""
    if isinstance(node, dict):
        kind = node.get('type')
        if node.get('_scope_') == 'rmt_mm' and isinstance(kind, str) and '.' not in kind \
                and kind in types:
            out.append(f'{where}: {kind} (register of {sorted(types[kind])})')
        for key, value in node.items():
            unresolvable(value, f'{where}.{key}', types, out)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            unresolvable(value, f'{where}[{i}]', types, out)
    return out


def downstream(tmp_path, leaf, extra=''):
    path = tmp_path / 'downstream.py'
    path.write_text(f"_base_ = ['rmt_mm::{leaf}']\n{extra}")
    return str(path)


def test_every_config_builds_by_scope_in_a_downstream_project(tmp_path):
    import rmt_mm  # noqa: F401  (the rmt_mm:: config scope)
    types = library_types()
    problems = []
    for leaf in LEAVES:
        cfg = Config.fromfile(downstream(tmp_path, leaf))
        problems += unresolvable(cfg._cfg_dict.to_dict(), leaf, types, [])
    assert problems == []


@pytest.mark.slow
@pytest.mark.parametrize('task', ['cls', 'det', 'seg'])
def test_downstream_config_trains(task, request, tmp_path):
    """A project config inheriting ours by scope builds its Runner and trains."""
    import rmt_mm  # noqa: F401
    work_dir = str(tmp_path / 'work')
    if task == 'cls':
        from rmt_mm.datasets import make_classification_set
        data = make_classification_set(str(tmp_path / 'data'), num_classes=4, per_class=4)
        cfg = tiny_cls_config(data, max_epochs=1, base='rmt_mm::cls/rmt_t_in1k.py')
        cfg.work_dir, metric = work_dir, 'raw_or_ema/accuracy/top1'
    elif task == 'det':
        cfg = tiny_det_config(downstream(tmp_path, 'det/mask_rcnn_rmt_s_fpn_ms_3x_coco.py'),
                              request.getfixturevalue('coco_root'), SHAPE_CLASSES, work_dir,
                              max_epochs=1)
        metric = 'coco/segm_mAP'
    else:
        cfg = tiny_seg_config(downstream(tmp_path, 'seg/fpn_rmt_t_80k_ade20k_512x512.py'),
                              request.getfixturevalue('ade_root'), work_dir, max_iters=2)
        metric = 'mIoU'
    run_training(cfg, tmp_path, 'ours')
    scalars = read_scalars(work_dir)
    assert [r for r in scalars if 'loss' in r] and any(metric in r for r in scalars)
