"""Launchers: 2-process CPU jobs through dist_train.sh, and the libraries' own train tools."""
import os
import os.path as osp

import pytest

from helpers import REPO, SHAPE_CLASSES, read_scalars, run_python
from task_configs import run_training, tiny_cls_config, tiny_det_config, tiny_seg_config


def tiny_config(task, request, tmp_path, length):
    """The smallest config of a task on its generated data, and the metric it reports."""
    work_dir = str(tmp_path / 'work')
    if task in ('det', 'retinanet', 'dino'):
        name = {'det': 'mask_rcnn_rmt_t_fpn_1x_coco', 'retinanet': 'retinanet_rmt_t_fpn_1x_coco',
                'dino': 'dino_4scale_rmt_s_12e_coco'}[task]
        path = osp.join(REPO, 'configs', 'det', f'{name}.py')
        return tiny_det_config(path, request.getfixturevalue('coco_root'), SHAPE_CLASSES,
                               work_dir, max_epochs=length, with_mask=task == 'det'), \
            'coco/segm_mAP' if task == 'det' else 'coco/bbox_mAP'
    path = osp.join(REPO, 'configs', 'seg', 'fpn_rmt_t_80k_ade20k_512x512.py')
    return tiny_seg_config(path, request.getfixturevalue('ade_root'),
                           work_dir, max_iters=length), 'mIoU'


@pytest.mark.slow
@pytest.mark.parametrize('task, length, iterations, checkpoint', [
    ('det', 1, 4, 'epoch_1.pth'),  # 16 images / (2 processes x 2 images) = 4 iterations
    # RetinaNet leaves stage 0's output norm unused: DDP runs with find_unused_parameters.
    ('retinanet', 1, 4, 'epoch_1.pth'),
    # DINO (four scales) leaves stage 0's output norm unused too; it is frozen, so DDP runs
    # without find_unused_parameters.
    ('dino', 1, 4, 'epoch_1.pth'),
    ('seg', 4, 4, 'iter_4.pth'),
])
def test_dist_train_two_processes_on_cpu(task, length, iterations, checkpoint, request,
                                         tmp_path):
    cfg, metric = tiny_config(task, request, tmp_path, length)
    _, log = run_training(cfg, tmp_path, 'dist2')
    assert 'Distributed training: True' in log and 'GPU number: 2' in log  # = processes
    assert "dist_cfg: {'backend': 'gloo'}" in log
    scalars = read_scalars(cfg.work_dir)  # logged by rank 0
    assert len([r for r in scalars if 'loss' in r]) == iterations
    assert osp.isfile(osp.join(cfg.work_dir, checkpoint))
    assert any(metric in r for r in scalars)
    # Rank 0 wrote the checkpoint with the random state of both processes (RandomStateHook).
    import torch
    states = torch.load(osp.join(cfg.work_dir, checkpoint))['random_state']
    assert len(states) == 2 and all({'python', 'numpy', 'torch'} <= set(s) for s in states)


@pytest.mark.slow
@pytest.mark.parametrize('task, library, length, checkpoint', [
    ('cls', 'mmpretrain', 2, 'epoch_2.pth'), ('det', 'mmdet', 1, 'epoch_1.pth'),
    ('seg', 'mmseg', 4, 'iter_4.pth')])
def test_library_own_train_and_test_tools_run_our_config(task, library, length, checkpoint,
                                                         request, tmp_path):
    """mmpretrain's, mmdet's and mmseg's tools/train.py and tools/test.py (not ours) train and
    evaluate rmt_mm configs (custom_imports)."""
    if task == 'cls':
        from rmt_mm.datasets import make_classification_set
        data = make_classification_set(str(tmp_path / 'data'), num_classes=4, per_class=8)
        cfg, metric = tiny_cls_config(data, max_epochs=length), 'accuracy/top1'
        cfg.work_dir = str(tmp_path / 'work')
        cfg.pop('sync_bn')  # SyncBN needs GPUs
    else:
        cfg, metric = tiny_config(task, request, tmp_path, length)
    # Their tools keep AMP and fp16 evaluation, which need a GPU.
    cfg.optim_wrapper.type = 'OptimWrapper'
    cfg.optim_wrapper.pop('loss_scale', None)
    cfg.val_cfg.fp16 = cfg.test_cfg.fp16 = False
    config, _ = run_training(cfg, tmp_path, __import__(library))
    assert osp.isfile(osp.join(cfg.work_dir, checkpoint))
    assert any(metric in r for r in read_scalars(cfg.work_dir))
    tool = osp.join(osp.dirname(__import__(library).__file__), '.mim', 'tools', 'test.py')
    test = run_python(tool, config, osp.join(cfg.work_dir, checkpoint), '--work-dir',
                      str(tmp_path / 'test'), cwd=str(tmp_path))
    assert metric in test.stdout


def test_a_gpu_job_never_silently_becomes_a_cpu_job(tmp_path):
    """Where CUDA is not visible, ``dist_train.sh CONFIG 2`` of a GPU config stops at once in
    every process, naming what needs the GPU and the option that runs it on the CPU; the
    launcher runs the ``python`` of the user's PATH."""
    import subprocess
    import sys

    import torch
    if torch.cuda.is_available():
        pytest.skip('CUDA is visible here: the job would run on the GPU')
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    calls = tmp_path / 'calls'
    (bin_dir / 'python').write_text(
        f'#!/bin/sh\necho "$@" >> {calls}\nexec {sys.executable} "$@"\n')
    (bin_dir / 'python').chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != 'PYTHON'}
    env['PATH'] = f'{bin_dir}{os.pathsep}{env["PATH"]}'
    from helpers import free_port
    env['PORT'] = free_port()
    run = subprocess.run(['bash', 'tools/dist_train.sh',
                          'configs/det/mask_rcnn_rmt_t_fpn_1x_coco.py', '2', '--work-dir',
                          str(tmp_path / 'work')], capture_output=True, text=True, cwd=REPO,
                         env=env, timeout=600)
    assert run.returncode != 0
    assert 'torch.distributed.run' in calls.read_text()
    message = [line for line in run.stderr.splitlines() if 'CUDA is not available' in line]
    assert len(message) >= 2, run.stderr[-3000:]  # one per process
    assert 'SyncBN (model.backbone.norm_cfg' in message[0]
    assert 'mixed precision (optim_wrapper.type=AmpOptimWrapper)' in message[0]
    assert 'distributed training over NCCL' in message[0]
    assert 'pass --device cpu' in message[0]
    assert not (tmp_path / 'work').exists() or not list((tmp_path / 'work').glob('*/*.log'))


