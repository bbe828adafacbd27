"""The user's workbench: quick start, demo, log curves, dataset browser, paper tables and the
whole-model benchmark, each run on generated data with tiny models."""
import json
import os.path as osp

import mmcv
import pytest

from helpers import REPO, SHAPE_CLASSES, load_tool, run_python
from task_configs import run_training, tiny_cls_config, tiny_det_config, tiny_seg_config

pytestmark = pytest.mark.slow




@pytest.fixture(scope='session')
def runs(tmp_path_factory, coco_root, ade_root):
    """Tiny trained runs of the three tasks: {task: (config, work_dir, checkpoint, image)}."""
    from rmt_mm.datasets import make_classification_set
    base = tmp_path_factory.mktemp('runs')

    def train(task, cfg, checkpoint, image):
        cfg.work_dir = str(base / task)
        (base / f'{task}_cfg').mkdir()
        config, _ = run_training(cfg, base / f'{task}_cfg', 'ours')
        return config, cfg.work_dir, osp.join(cfg.work_dir, checkpoint), image

    cls_data = make_classification_set(str(base / 'imagenet'), num_classes=4, per_class=4)
    return dict(
        cls=train('cls', tiny_cls_config(cls_data, max_epochs=2), 'epoch_2.pth',
                  osp.join(cls_data, 'val', 'disk', 'val_0_0000.JPEG')),
        det=train('det', tiny_det_config(
            osp.join(REPO, 'configs/det/mask_rcnn_rmt_t_fpn_1x_coco.py'), coco_root,
            SHAPE_CLASSES, None, max_epochs=1), 'epoch_1.pth',
            osp.join(coco_root, 'val', 'val_00000.jpg')),
        seg=train('seg', tiny_seg_config(
            osp.join(REPO, 'configs/seg/fpn_rmt_t_80k_ade20k_512x512.py'), ade_root, None,
            max_iters=4), 'iter_4.pth',
            osp.join(ade_root, 'images', 'validation', 'ADE_validation_00000000.jpg')))


@pytest.mark.parametrize('task', ['cls', 'det', 'seg'])
def test_demo_draws_predictions(task, runs, tmp_path):
    config, _, checkpoint, image = runs[task]
    out = str(tmp_path / 'pred.png')
    stdout = run_python('tools/demo.py', image, config, checkpoint, '--out', out,
                        '--score-thr', '0').stdout
    assert out in stdout
    drawn, source = mmcv.imread(out), mmcv.imread(image)
    h, w = source.shape[:2]
    if task == 'det':  # the image itself, with boxes, masks and labels drawn on it
        assert drawn.shape[:2] == (h, w) and (drawn != source).mean() > 0.01
    elif task == 'seg':  # the overlay plus a legend strip under it
        assert drawn.shape[1] == w and drawn.shape[0] > h
    else:  # small images are enlarged so that the top-k text fits
        assert drawn.shape[:2] == (224, 224)
    assert drawn.std() > 10


def test_analyze_logs_plots_curves_of_several_runs(runs, tmp_path):
    out = str(tmp_path / 'curves.png')
    dirs = [runs[t][1] for t in ('cls', 'det', 'seg')]
    stdout = run_python('tools/analysis_tools/analyze_logs.py', *dirs, '--out', out,
                        '--legend', 'cls', 'det', 'seg').stdout
    for key in ('loss', 'lr', 'accuracy/top1', 'coco/bbox_mAP', 'mIoU'):
        assert f"'{key}'" in stdout
    png = mmcv.imread(out)
    assert png.shape[1] == 1500 and png.shape[0] >= 720 and png.std() > 5


def test_browse_dataset_draws_pipeline_outputs(runs, tmp_path):
    """Without --output-dir, the pictures land where the tool's docstring and the README say:
    work_dirs/browse_dataset/ under the current directory."""
    config = runs['det'][0]
    stdout = run_python(osp.join(REPO, 'tools/misc/browse_dataset.py'), config, '--num', '3',
                        cwd=str(tmp_path)).stdout
    out = tmp_path / 'work_dirs' / 'browse_dataset'
    assert '--output-dir work_dirs/browse_dataset' in load_tool(
        'tools/misc/browse_dataset.py').__doc__
    assert '(`work_dirs/browse_dataset/`)' in open(osp.join(REPO, 'README.md')).read()
    assert '3 train samples of 16' in stdout
    pictures = sorted(p.name for p in out.iterdir())
    assert len(pictures) == 4 and 'grid.png' in pictures
    first = mmcv.imread(str(out / pictures[0]))
    assert first.shape[:2] == (128, 160)  # the pipeline's Resize to (160, 128)


def test_make_tables_puts_runs_next_to_the_paper(runs, tmp_path):
    out = str(tmp_path / 'tables')
    stdout = run_python('tools/make_tables.py', f"{runs['cls'][1]}=rmt_t_in1k",
                        f"{runs['det'][1]}=mask_rcnn_rmt_t_fpn_1x_coco",
                        f"{runs['seg'][1]}=fpn_rmt_t_80k_ade20k_512x512", '--out', out).stdout
    markdown = open(out + '.md').read()
    assert markdown in stdout
    rows = {}
    for line in markdown.splitlines():
        if line.startswith('| ') and not line.startswith('| model'):
            cells = [cell.strip() for cell in line.strip('|').split('|')]
            rows[cells[0]] = cells
    assert rows['rmt_t_in1k'][2] == '14.33' and rows['rmt_t_in1k'][6] == '82.4'
    det = rows['mask_rcnn_rmt_t_fpn_1x_coco']
    assert det[2] == '32.93' and det[6] == '47.1' and det[8] == '42.6'
    from helpers import read_scalars
    box = [r['coco/bbox_mAP'] for r in read_scalars(runs['det'][1]) if 'coco/bbox_mAP' in r]
    assert det[5].split()[0] == f'{box[-1] * 100:.1f}'  # the last evaluation
    assert rows['fpn_rmt_t_80k_ade20k_512x512'][6] == '46.4'
    latex = open(out + '.tex').read()
    assert latex.count(r'\begin{tabular}') == 3 and r'mask\_rcnn\_rmt\_t\_fpn\_1x\_coco' in latex


def test_benchmark_whole_model(runs, tmp_path):
    out = str(tmp_path / 'benchmark.json')
    stdout = run_python('tools/analysis_tools/benchmark.py', runs['det'][0], '--shape', '128',
                        '160', '--runs', '2', '--warmup', '1', '--out', out).stdout
    result = json.load(open(out))
    assert result['fps'] > 0 and result['shape'] == [128, 160]
    assert f"{result['fps']:.2f} img/s" in stdout


@pytest.mark.parametrize('task, num_images, options, metric', [
    ('cls', 16, ['train_cfg.max_epochs=1'], 'accuracy/top1'),
    ('det', 8, ['train_cfg.max_epochs=1'], 'coco/bbox_mAP'),
    ('seg', 8, ['train_cfg.max_iters=2', 'train_cfg.val_interval=2'], 'mIoU'),
])
def test_quickstart_trains_evaluates_and_draws(task, num_images, options, metric, tmp_path):
    """The quick start end to end (the documented options), with the training cut short."""
    import math
    import re

    from mmengine.config import Config
    quickstart = load_tool('tools/quickstart.py')
    cfg = Config.fromfile(osp.join(REPO, quickstart.TASKS[task]['config']))
    work_dir = str(tmp_path / task)
    stdout = run_python('tools/quickstart.py', '--task', task, '--work-dir', work_dir,
                        '--num-images', str(num_images), '--device', 'cpu',
                        '--cfg-options', *options).stdout
    iterations = int(re.search(r'trained (\d+) iterations', stdout).group(1))
    batch = cfg.train_dataloader.batch_size
    assert iterations == (2 if task == 'seg' else math.ceil(num_images / batch))
    line = [row for row in stdout.splitlines() if row.startswith(f'[quickstart] {metric} ')]
    assert len(line) == 1, stdout[-2000:]
    untrained, trained = (float(x) for x in line[0].split()[2:])
    assert 0 <= untrained <= 100 and 0 <= trained <= 100
    picture = mmcv.imread(osp.join(work_dir, 'predictions.png'))
    assert picture.shape[1] >= 400 and picture.std() > 10
    done = osp.join(REPO, cfg.data_root, '.complete')
    assert open(done).read() == str(num_images)


@pytest.mark.parametrize('task', ['cls', 'det', 'seg'])
def test_test_tool_show_dir_draws_every_prediction(task, runs, tmp_path):
    import glob
    config, _, checkpoint, image = runs[task]
    # A relative --show-dir lands inside the work dir for every task (not the current dir).
    run_python(osp.join(REPO, 'tools/test.py'), '--device', 'cpu', config, checkpoint,
               '--work-dir', str(tmp_path / 'work'), '--show-dir', 'show', cwd=str(tmp_path))
    show_dir = str(tmp_path / 'work' / 'show')
    pictures = [p for p in glob.glob(osp.join(show_dir, '**', '*.*'), recursive=True)
                if p.endswith(('.png', '.jpg', '.JPEG'))]
    assert len(pictures) == dict(cls=16, det=8, seg=6)[task], pictures
    h, w = mmcv.imread(image).shape[:2]
    drawn = mmcv.imread(pictures[0])
    assert drawn.shape[0] >= h and drawn.shape[1] >= w and drawn.std() > 10
