"""Detection suite: every COCO config of the paper, end to end on a tiny COCO set."""
import os.path as osp

import pytest

from helpers import REPO, SHAPE_CLASSES, printed_metrics, read_scalars, run_python
from task_configs import build_and_count, paper_configs, run_training, tiny_det_config

DET = osp.join(REPO, 'configs', 'det')
# Params of the paper's COCO table (to its rounding, in millions).
PAPER_PARAMS = {
    'mask_rcnn_rmt_t_fpn_1x_coco': 33, 'mask_rcnn_rmt_s_fpn_1x_coco': 46,
    'mask_rcnn_rmt_b_fpn_1x_coco': 73, 'mask_rcnn_rmt_l_fpn_1x_coco': 114,
    'retinanet_rmt_t_fpn_1x_coco': 23, 'retinanet_rmt_s_fpn_1x_coco': 36,
    'retinanet_rmt_b_fpn_1x_coco': 63, 'retinanet_rmt_l_fpn_1x_coco': 104,
    'mask_rcnn_rmt_s_fpn_ms_3x_coco': 46, 'mask_rcnn_rmt_b_fpn_ms_3x_coco': 73,
    'mask_rcnn_rmt_l_fpn_ms_3x_coco': 114,
    'cascade_mask_rcnn_rmt_s_fpn_ms_3x_coco': 83, 'cascade_mask_rcnn_rmt_b_fpn_ms_3x_coco': 111,
}
def test_every_paper_row_has_a_config():
    assert paper_configs(DET) == set(PAPER_PARAMS)


@pytest.mark.parametrize('name', sorted(PAPER_PARAMS))
def test_params_match_the_paper(name):
    cfg, params = build_and_count(osp.join(DET, name + '.py'))
    assert cfg.default_scope == 'mmdet'
    assert round(params / 1e6) == PAPER_PARAMS[name], params
    arch = name.split('_rmt_')[1][0]
    assert cfg.model.backbone.arch == arch
    assert cfg.model.backbone.init_cfg.checkpoint == f'checkpoints/rmt_{arch}_in1k.pth'


@pytest.mark.slow
@pytest.mark.parametrize('name, with_mask, epochs', [
    ('mask_rcnn_rmt_t_fpn_1x_coco', True, 2),
    ('retinanet_rmt_t_fpn_1x_coco', False, 2),
    ('cascade_mask_rcnn_rmt_s_fpn_ms_3x_coco', True, 1),  # the slowest: one epoch
])
def test_train_and_coco_eval_end_to_end(name, with_mask, epochs, coco_root, tmp_path):
    work_dir = str(tmp_path / 'work')
    cfg = tiny_det_config(osp.join(DET, name + '.py'), coco_root, SHAPE_CLASSES, work_dir,
                          max_epochs=epochs, with_mask=with_mask)
    config, _ = run_training(cfg, tmp_path, 'ours')
    scalars = read_scalars(work_dir)
    losses = [r['loss'] for r in scalars if 'loss' in r]
    assert len(losses) == 8 * epochs and all(loss == loss for loss in losses)  # 8 a epoch
    final = [r for r in scalars if 'coco/bbox_mAP' in r]
    assert final, scalars[-1]
    # The last checkpoint tested again gives the last validation's COCO metrics.
    test = run_python('tools/test.py', '--device', 'cpu', config,
                      osp.join(work_dir, f'epoch_{epochs}.pth'),
                      '--work-dir', str(tmp_path / 'test'), timeout=600)
    metrics = printed_metrics(test.stdout)
    keys = ['coco/bbox_mAP', 'coco/bbox_mAP_50'] + (['coco/segm_mAP'] if with_mask else [])
    assert {k: metrics[k] for k in keys} == {k: final[-1][k] for k in keys}
    if not with_mask:
        assert 'coco/segm_mAP' not in final[-1]
