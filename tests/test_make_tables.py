"""tools/make_tables.py on work dirs with several evaluations: the cell a user copies into a
paper follows the paper's convention (ImageNet: best epoch of trained or EMA weights; COCO and
ADE20K: the last evaluation, best marked), across a resume and a later test run."""
import json
import os
import os.path as osp

from helpers import REPO, run_python


def write_run(work_dir, timestamp, val_rows, test_row=None):
    """One mmengine run folder: training rows interleaved with validation rows in
    vis_data/scalars.json, and the test results file of a tools/test.py run."""
    run = osp.join(work_dir, timestamp)
    os.makedirs(osp.join(run, 'vis_data'))
    with open(osp.join(run, 'vis_data', 'scalars.json'), 'w') as f:
        for step, metrics in val_rows:
            f.write(json.dumps(dict(lr=1e-4, loss=1.0, iter=step * 10, step=step * 10)) + '\n')
            f.write(json.dumps(dict(metrics, step=step)) + '\n')
    if test_row is not None:
        with open(osp.join(run, f'{timestamp}.json'), 'w') as f:
            json.dump(test_row, f)


def save_config(work_dir, config):
    """The config as mmengine saves it in a work dir."""
    from mmengine.config import Config

    import rmt_mm  # noqa: F401  (rmt_mm:: bases)
    os.makedirs(work_dir, exist_ok=True)
    Config.fromfile(osp.join(REPO, 'configs', config)).dump(
        osp.join(work_dir, osp.basename(config)))


def cells(markdown):
    rows = {}
    for line in markdown.splitlines():
        if line.startswith('| ') and not line.startswith('| model'):
            row = [cell.strip() for cell in line.strip('|').split('|')]
            rows[row[0]] = row
    return rows


def test_cells_follow_the_papers_convention_across_resumes_and_tests(tmp_path):
    cls = str(tmp_path / 'cls')
    save_config(cls, 'cls/rmt_t_in1k.py')
    # Epoch 4 of the first run scored highest but the run was resumed from epoch 3: the second
    # run's epoch 4 replaces it. The best of either weights is the EMA's at epoch 3.
    write_run(cls, '20260101_000000', [
        (1, {'accuracy/top1': 50.0, 'ema/accuracy/top1': 40.0}),
        (2, {'accuracy/top1': 60.0, 'ema/accuracy/top1': 55.0}),
        (3, {'accuracy/top1': 70.0, 'ema/accuracy/top1': 72.0}),
        (4, {'accuracy/top1': 80.0, 'ema/accuracy/top1': 71.0})])
    write_run(cls, '20260102_000000', [
        (4, {'accuracy/top1': 66.0, 'ema/accuracy/top1': 70.0}),
        (5, {'accuracy/top1': 69.0, 'ema/accuracy/top1': 71.5})])
    cls_trained = str(tmp_path / 'cls_trained')  # the RMT-T case: trained weights win
    save_config(cls_trained, 'cls/rmt_t_in1k.py')
    write_run(cls_trained, '20260101_000000', [
        (1, {'accuracy/top1': 61.25, 'ema/accuracy/top1': 60.0}),
        (2, {'accuracy/top1': 62.5, 'ema/accuracy/top1': 62.0})])

    det = str(tmp_path / 'det')
    save_config(det, 'det/mask_rcnn_rmt_t_fpn_1x_coco.py')
    write_run(det, '20260101_000000', [
        (1, {'coco/bbox_mAP': 0.30, 'coco/segm_mAP': 0.28}),
        (2, {'coco/bbox_mAP': 0.35, 'coco/segm_mAP': 0.31})])
    write_run(det, '20260103_000000', [(3, {'coco/bbox_mAP': 0.34, 'coco/segm_mAP': 0.33})])

    seg = str(tmp_path / 'seg')  # iteration-based, then a tools/test.py run in the same dir
    save_config(seg, 'seg/fpn_rmt_t_80k_ade20k_512x512.py')
    write_run(seg, '20260101_000000', [(8000, {'mIoU': 40.1}), (16000, {'mIoU': 39.5})])
    write_run(seg, '20260105_000000', [], test_row={'aAcc': 70.0, 'mIoU': 39.0, 'mAcc': 50.0})

    out = str(tmp_path / 'tables')
    stdout = run_python('tools/make_tables.py', f'{cls}=rmt_t_in1k', f'{cls_trained}=rmt_t_in1k',
                        f'{det}=mask_rcnn_rmt_t_fpn_1x_coco',
                        f'{seg}=fpn_rmt_t_80k_ade20k_512x512', '--out', out).stdout
    markdown = open(out + '.md').read()
    assert markdown in stdout
    lines = markdown.splitlines()
    rows = [cells(line) for line in lines if line.startswith('| rmt_t_in1k')]
    assert [r['rmt_t_in1k'][5] for r in rows] == ['72.0 (EMA, epoch 3)',
                                                  '62.5 (trained, epoch 2)']
    assert rows[0]['rmt_t_in1k'][6] == '82.4'  # the paper's
    table = cells(markdown)
    assert table['mask_rcnn_rmt_t_fpn_1x_coco'][5:9] == ['34.0 (best 35.0, epoch 2)', '47.1',
                                                         '33.0', '42.6']
    assert table['fpn_rmt_t_80k_ade20k_512x512'][5:7] == ['39.0 (best 40.1, iter 8000)', '46.4']
    assert 'Measured: the best evaluation of the trained or the EMA weights' in markdown
    assert 'Measured: the last evaluation' in markdown
    latex = open(out + '.tex').read()
    assert r'34.0 (best 35.0, epoch 2)' in latex and r'\caption{ImageNet-1k' in latex
