"""Reliability end to end: interrupted runs resume exactly, broken losses, data and backbone
settings fail loudly (README, "Reliability"). The units have their own files: atomic
checkpoint files in test_fileio.py, config checks in test_checks.py."""
import glob
import os
import os.path as osp
import subprocess
import sys

import numpy as np
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


# ------------------------------------------------------------------------- broken losses
def _runner_with_loss(tmp_path, losses, **hook_args):
    """A real mmengine Runner on a tiny RMT classifier whose loss follows ``losses``, one
    iteration per value."""
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    from rmt_mm.models import RMT

    class Model(BaseModel):
        def __init__(self):
            super().__init__()
            self.backbone = RMT(arch=TINY_ARCH, out_indices=(3, ), drop_path_rate=0.0)
            self.calls = 0

        def forward(self, inputs, labels=None, mode='tensor'):
            feats = self.backbone(inputs)[0].mean()
            value = losses[min(self.calls, len(losses) - 1)]
            self.calls += 1
            return dict(loss_main=feats * value, loss_aux=feats.abs() * 0.1)

    data = [dict(inputs=torch.randn(3, 32, 32), labels=0) for _ in range(2 * len(losses))]
    return Runner(
        model=Model(), work_dir=str(tmp_path),
        train_dataloader=dict(dataset=data, sampler=dict(type='DefaultSampler', shuffle=False),
                              batch_size=2, collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=False, max_iters=len(losses)),
        custom_hooks=[dict(type='rmt_mm.FiniteLossHook', **hook_args)],
        default_hooks=dict(checkpoint=None, logger=dict(type='LoggerHook', interval=1)),
        default_scope='mmengine')


def _hook(runner):
    return [h for h in runner.hooks if type(h).__name__ == 'FiniteLossHook'][0]


def test_transient_nonfinite_losses_are_skipped_counted_and_logged(tmp_path):
    """The default: each non-finite loss skips its update (the weights stay finite) and the
    run goes on; the count is logged; a finite loss resets the run of them."""
    nan, inf = float('nan'), float('inf')
    runner = _runner_with_loss(tmp_path, [1.0, nan, inf, 1.0, nan, inf, 1.0],
                               max_consecutive=3)
    runner.train()
    assert runner.iter == 7 and _hook(runner).skipped == 4
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())
    assert runner.message_hub.get_scalar('train/nonfinite_skipped').current() == 4
    log = open(glob.glob(osp.join(str(tmp_path), '*', '*.log'))[0]).read()
    assert 'non-finite loss at iteration 2' in log and 'loss_main=nan' in log
    assert 'this update is skipped (1 so far, 1 in a row of at most 3)' in log
    # The wrappers last as long as the training: afterwards the model and the optimizer
    # wrapper have their own methods again.
    assert 'parse_losses' not in vars(runner.model)
    assert 'update_params' not in vars(runner.optim_wrapper)


def test_a_run_of_nonfinite_losses_stops_naming_the_bound(tmp_path):
    nan = float('nan')
    runner = _runner_with_loss(tmp_path, [1.0, nan, nan, nan, 1.0], max_consecutive=3)
    with pytest.raises(FloatingPointError, match=r'non-finite loss at iteration 4.*the last '
                       r'3 losses in a row .*max_consecutive=3 in custom_hooks'):
        runner.train()
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())


def test_action_raise_stops_at_the_first_with_the_iteration_and_the_terms(tmp_path):
    runner = _runner_with_loss(tmp_path, [1.0, 1.0, float('nan'), 1.0], action='raise')
    with pytest.raises(FloatingPointError) as error:
        runner.train()
    message = str(error.value)
    assert 'iteration 3' in message and 'loss_main=nan' in message and 'loss_aux=' in message
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())
    with pytest.raises(ValueError, match="action must be one of"):
        _runner_with_loss(tmp_path, [1.0], action='ignore')
    with pytest.raises(ValueError, match="max_consecutive must be a positive int"):
        _runner_with_loss(tmp_path, [1.0], max_consecutive=0)


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


# ------------------------------------------------------------------------------ bad data
def _loader(**kwargs):
    from mmengine.registry import TRANSFORMS
    return TRANSFORMS.build(dict(type='rmt_mm.RobustLoadImageFromFile', **kwargs))


def test_missing_and_corrupt_images_name_the_file(tmp_path, caplog):
    corrupt = tmp_path / 'corrupt.jpg'
    corrupt.write_bytes(b'\xff\xd8 this is not a jpeg')
    missing = str(tmp_path / 'missing.jpg')
    for path, reason in ((missing, 'does not exist'), (str(corrupt), 'not a readable image')):
        with pytest.raises((FileNotFoundError, ValueError)) as error:
            _loader().transform(dict(img_path=path, sample_idx=7))
        assert path in str(error.value) and reason in str(error.value)
        assert 'sample 7' in str(error.value) and "on_error='skip'" in str(error.value)
        assert _loader(on_error='skip').transform(dict(img_path=path, sample_idx=7)) is None
    # mmcv's own loader, which the configs use by default, names the file too.
    from mmcv.transforms import LoadImageFromFile
    with pytest.raises(Exception, match='corrupt.jpg'):
        LoadImageFromFile().transform(dict(img_path=str(corrupt)))


def test_skipped_images_are_replaced_in_training(tmp_path, coco_root):
    """A training set with a broken file still trains; the warning names the file."""
    import shutil

    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope
    root = str(tmp_path / 'coco')
    shutil.copytree(coco_root, root)
    os.remove(osp.join(root, 'train', 'train_00000.jpg'))
    init_default_scope('mmdet')
    dataset = DATASETS.build(dict(
        type='rmt_mm.CocoDataset', data_root=root, ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'), metainfo=dict(classes=SHAPE_CLASSES),
        pipeline=[dict(type='rmt_mm.RobustLoadImageFromFile', on_error='skip'),
                  dict(type='PackDetInputs')]))
    sample = dataset[0]
    assert sample['data_samples'].img_path != osp.join(root, 'train', 'train_00000.jpg')


@pytest.mark.parametrize('mode', ['L', 'RGBA', 'I;16', 'P'])
def test_grayscale_rgba_16bit_and_palette_images_load_as_rgb(tmp_path, mode):
    from PIL import Image
    rng = np.random.default_rng(0)
    if mode == 'I;16':
        image = Image.fromarray(rng.integers(0, 65535, (20, 30), dtype=np.uint16))
    else:
        image = Image.fromarray(rng.integers(0, 255, (20, 30, 4), dtype=np.uint8), 'RGBA')
        image = image.convert(mode)
    path = str(tmp_path / 'image.png')
    image.save(path)
    for loader in (_loader(), _loader(imdecode_backend='pillow')):
        img = loader.transform(dict(img_path=path))['img']
        assert img.shape == (20, 30, 3) and img.dtype == np.uint8


def test_degenerate_boxes_and_polygons_are_dropped_with_a_count(tmp_path, caplog):
    import json
    import logging

    from mmdet.registry import DATASETS
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope
    ok = dict(bbox=[2, 2, 10, 10], area=100, segmentation=[[2, 2, 12, 2, 12, 12]])
    anns = [ok,
            dict(bbox=[2, 2, 0, 10], area=0, segmentation=[[2, 2, 2, 12, 2, 7]]),  # no width
            dict(bbox=[50, 50, 5, 5], area=25, segmentation=[[50, 50, 55, 55, 50, 55]]),  # out
            dict(bbox=[2, 2, 0.5, 8], area=4, segmentation=[[2, 2, 2, 10, 2, 6]]),  # < 1 px
            dict(bbox=[5, 5, 6, 6], area=36, segmentation=[[5, 5, 11, 11]]),  # 2-point polygon
            dict(bbox=[3, 3, 6, 6], area=36, segmentation=[])]  # no polygon at all
    coco = dict(images=[dict(id=1, file_name='a.jpg', height=20, width=20)],
                categories=[dict(id=1, name='disk')],
                annotations=[dict(a, id=i + 1, image_id=1, category_id=1, iscrowd=0)
                             for i, a in enumerate(anns)])
    (tmp_path / 'ann.json').write_text(json.dumps(coco))
    init_default_scope('mmdet')
    logger = MMLogger.get_current_instance()
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.WARNING):
            dataset = DATASETS.build(dict(
                type='rmt_mm.CocoDataset', data_root=str(tmp_path), ann_file='ann.json',
                data_prefix=dict(img=''), metainfo=dict(classes=('disk', )), pipeline=[]))
    finally:
        logger.removeHandler(caplog.handler)
    instances = dataset.get_data_info(0)['instances']
    assert len(instances) == 3
    assert instances[1]['mask'] == [[]] and instances[2]['mask'] == [[]]
    assert 'dropped 3 degenerate boxes' in caplog.text
    assert '2 degenerate polygons' in caplog.text and 'of 6 annotations' in caplog.text


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
    import glob
    configs = sorted(glob.glob(osp.join(REPO, 'configs', '[cdsq]*', '*.py')))
    folders = {osp.basename(osp.dirname(p)) for p in configs}
    assert folders == {'cls', 'custom', 'det', 'seg', 'quickstart'}, folders
    for path in configs:
        cfg = Config.fromfile(path)
        assert cfg.default_hooks.checkpoint.backend_args == dict(backend='rmt_mm_atomic_local')
        hooks = {h['type']: h for h in cfg.custom_hooks}
        assert 'rmt_mm.RandomStateHook' in hooks and 'rmt_mm.FiniteLossHook' in hooks, path
        assert hooks['rmt_mm.FiniteLossHook']['action'] == 'skip', path
