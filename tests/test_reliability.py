"""Reliability end to end: interrupted runs resume exactly, large inputs stay finite, tiny
images run, bad backbone settings fail loudly, memory stays bounded (README, "Reliability").
The units have their own files: atomic checkpoint files (test_fileio.py), config checks
(test_checks.py), FiniteLossHook (test_hooks.py), bad images and annotations
(test_loading.py)."""
import glob
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from helpers import REPO, SHAPE_CLASSES, TINY_ARCH, read_scalars
from task_configs import tiny_cls_config, tiny_det_config, tiny_seg_config


# ------------------------------------------------------- SIGKILL, resume, same final state
def _train(config, work_dir, *extra, expect_kill=False):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [osp.join(REPO, 'tests'), os.environ.get('PYTHONPATH', '')]))
    run = subprocess.run([sys.executable, 'tools/train.py', config, '--device', 'cpu',
                          '--work-dir', work_dir, *extra], capture_output=True, text=True,
                         cwd=REPO, env=env, timeout=900)
    if expect_kill:
        assert run.returncode == -9, run.stdout[-2000:] + run.stderr[-2000:]
    else:
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run.stdout + run.stderr


def _final_metrics(work_dir, key):
    rows = [r for r in read_scalars(work_dir) if key in r]
    return {k: v for k, v in rows[-1].items() if k not in ('time', 'data_time')}


def _assert_same_state(a, b):
    a, b = torch.load(a), torch.load(b)
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for name in a['state_dict']:
        torch.testing.assert_close(a['state_dict'][name], b['state_dict'][name], rtol=0,
                                   atol=0, msg=name)
    opt_a, opt_b = a['optimizer']['state'], b['optimizer']['state']
    assert opt_a.keys() == opt_b.keys() and opt_a
    for index in opt_a:
        for key in opt_a[index]:
            torch.testing.assert_close(opt_a[index][key], opt_b[index][key], rtol=0, atol=0)
    assert a['meta']['iter'] == b['meta']['iter'] and a['meta']['epoch'] == b['meta']['epoch']


def _resume_case(task, tmp_path, coco_root, ade_root):
    if task == 'cls':
        from rmt_mm.datasets import make_classification_set
        data = make_classification_set(str(tmp_path / 'data'), num_classes=4, per_class=4)
        cfg = tiny_cls_config(data, max_epochs=3)
        cfg.default_hooks.checkpoint.interval = 1
        return cfg, 'epoch_3.pth', dict(after_epoch=2), 'accuracy/top1'
    if task == 'det':
        cfg = tiny_det_config(osp.join(REPO, 'configs/det/mask_rcnn_rmt_t_fpn_1x_coco.py'),
                              coco_root, SHAPE_CLASSES, None, max_epochs=2)
        cfg.default_hooks.checkpoint.interval = 1
        return cfg, 'epoch_2.pth', dict(after_epoch=1), 'coco/bbox_mAP'
    cfg = tiny_seg_config(osp.join(REPO, 'configs/seg/fpn_rmt_t_80k_ade20k_512x512.py'),
                          ade_root, None, max_iters=6)
    cfg.default_hooks.checkpoint.interval = 2
    return cfg, 'iter_6.pth', dict(after_iter=4), 'mIoU'


@pytest.mark.slow
@pytest.mark.parametrize('task', ['cls', 'det', 'seg'])
def test_sigkill_then_resume_equals_the_uninterrupted_run(task, tmp_path, coco_root, ade_root):
    """Random augmentation, RoI sampling and shuffling all draw random numbers: the resumed
    run matches only if the checkpoint restores them (RandomStateHook)."""
    cfg, final, kill_at, metric = _resume_case(task, tmp_path, coco_root, ade_root)
    cfg.randomness = dict(seed=0, deterministic=True)
    straight, resumed = str(tmp_path / 'straight'), str(tmp_path / 'resumed')
    config = str(tmp_path / 'config.py')
    cfg.dump(config)
    _train(config, straight)

    cfg.custom_imports = dict(imports=['rmt_mm.models', 'helper_hooks'])
    cfg.custom_hooks = cfg.custom_hooks + [dict(type='KillSwitchHook', **kill_at)]
    killed_config = str(tmp_path / 'killed_config.py')
    cfg.dump(killed_config)
    _train(killed_config, resumed, expect_kill=True)
    assert not osp.exists(osp.join(resumed, final))
    assert not [n for n in os.listdir(resumed) if n.endswith('.tmp')]
    log = _train(config, resumed, '--resume')
    assert 'resumed' in log.lower()

    _assert_same_state(osp.join(straight, final), osp.join(resumed, final))
    assert _final_metrics(straight, metric) == _final_metrics(resumed, metric)


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_forward_finite_under_autocast_with_large_inputs(dtype):
    import warnings
    try:
        with warnings.catch_warnings(), torch.autocast('cpu', dtype=dtype):
            warnings.simplefilter('ignore')  # torch < 2.3 warns, then refuses on entry
    except RuntimeError as error:  # torch < 2.3: CPU autocast is bf16 only
        pytest.skip(f'this torch has no CPU autocast to {dtype}: {error}')
    from rmt_mm.models import RMT
    model = RMT(arch=TINY_ARCH).eval()
    x = torch.randn(2, 3, 96, 128) * 100
    with torch.no_grad(), torch.autocast('cpu', dtype=dtype):
        outs = model(x)
    assert all(torch.isfinite(out.float()).all() for out in outs)


@pytest.mark.parametrize('size', [(1, 1), (7, 5), (33, 17)])
def test_images_smaller_than_the_last_stage_still_run(size):
    from rmt_mm.models import RMT
    model = RMT(arch=TINY_ARCH)
    outs = model(torch.randn(2, 3, *size))  # training mode: BN over the batch
    assert [tuple(o.shape[:2]) for o in outs] == [(2, c) for c in TINY_ARCH['embed_dims']]
    assert all(torch.isfinite(o).all() for o in outs)


# ------------------------------------------------------------------ bad backbone settings
@pytest.mark.parametrize('kwargs, message', [
    (dict(arch='x'), "unknown arch 'x'"),
    (dict(out_indices=(0, 4)), r'out_indices \(0, 4\) must be stage indices'),
    (dict(frozen_stages=5), 'frozen_stages must be an int in'),
    (dict(attn_cfg=dict(attn_impl='query_blocked')), 'attn_impl is a backbone argument'),
])
def test_bad_backbone_settings_name_the_field(kwargs, message):
    from rmt_mm.models import RMT
    with pytest.raises(ValueError, match=message):
        RMT(**kwargs)


# --------------------------------------------------------------------------------- soak
@pytest.mark.slow
def test_soak_200_iterations_resident_memory_stays_bounded(tmp_path, coco_root):
    """200 iterations of a tiny Mask R-CNN with a loader worker: the resident set after
    warm-up (iteration 50) may grow by at most 150 MiB by iteration 200."""
    cfg = tiny_det_config(osp.join(REPO, 'configs/det/mask_rcnn_rmt_t_fpn_1x_coco.py'),
                          coco_root, SHAPE_CLASSES, str(tmp_path / 'work'), max_epochs=1)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=200, val_interval=10**6)
    cfg.train_dataloader.num_workers = 1
    cfg.train_dataloader.persistent_workers = True
    cfg.train_dataloader.sampler = dict(type='InfiniteSampler', shuffle=True)
    cfg.model.backbone.arch.depths = [1, 1, 1, 1]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=10**6)
    cfg.default_hooks.logger.interval = 50
    cfg.custom_imports = dict(imports=['rmt_mm.models', 'helper_hooks'])
    cfg.custom_hooks = cfg.custom_hooks + [dict(type='ResidentMemoryHook', every=50)]
    config = str(tmp_path / 'soak.py')
    cfg.dump(config)
    log = _train(config, cfg.work_dir)
    rss = {int(k): int(v) for k, v in
           (line.split('rss@')[1].split()[0].split('=') for line in log.splitlines()
            if 'rss@' in line)}
    assert sorted(rss) == [50, 100, 150, 200], log[-2000:]
    growth = (rss[200] - rss[50]) / 2**20
    print(f'resident set: {rss[50] / 2**20:.0f} MiB at 50, {rss[200] / 2**20:.0f} MiB at 200 '
          f'(+{growth:.1f} MiB)')
    assert growth < 150, rss


def test_every_shipped_config_uses_the_reliability_features():
    configs = sorted(glob.glob(osp.join(REPO, 'configs', '[cdsq]*', '*.py')))
    folders = {osp.basename(osp.dirname(p)) for p in configs}
    assert folders == {'cls', 'custom', 'det', 'seg', 'quickstart'}, folders
    for path in configs:
        cfg = Config.fromfile(path)
        assert cfg.default_hooks.checkpoint.backend_args == dict(backend='rmt_mm_atomic_local')
        hooks = {h['type']: h for h in cfg.custom_hooks}
        assert 'rmt_mm.RandomStateHook' in hooks and 'rmt_mm.FiniteLossHook' in hooks, path
        assert hooks['rmt_mm.FiniteLossHook']['action'] == 'skip', path
