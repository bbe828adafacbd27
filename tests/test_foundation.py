"""The pinned stack: compiled mmcv ops, registry scopes, and checkpoints under torch >= 2.6."""
import os
import pickle
import subprocess
import sys
import textwrap

import pytest
import torch

from conftest import REPO


def test_mmcv_compiled_ops_run():
    from mmcv.ops import RoIAlign, nms
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], dtype=torch.float)
    scores = torch.tensor([0.9, 0.8, 0.7])
    dets, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    assert dets.shape == (2, 5)

    feat = torch.arange(16, dtype=torch.float).view(1, 1, 4, 4)
    rois = torch.tensor([[0, 0, 0, 4, 4]], dtype=torch.float)
    out = RoIAlign((2, 2), spatial_scale=1.0, sampling_ratio=2, aligned=True)(feat, rois)
    # Mean of each 2x2 quadrant of the 4x4 ramp.
    assert torch.allclose(out.flatten(), torch.tensor([2.5, 4.5, 10.5, 12.5]))


BUILD_SCRIPT = textwrap.dedent('''
    import sys
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    scope, with_imports = sys.argv[1], sys.argv[2] == '1'
    cfg = dict(default_scope=scope,
               model=dict(type='rmt_mm.RMT', arch=dict(
                   embed_dims=[16, 32, 64, 128], depths=[1, 1, 1, 1],
                   num_heads=[2, 2, 4, 8], init_values=[2, 2, 2, 2],
                   heads_ranges=[4, 4, 6, 6], mlp_ratios=[3, 3, 3, 3],
                   chunkwise_recurrents=[True, True, False, False],
                   layerscales=[False] * 4)))
    if with_imports:
        cfg['custom_imports'] = dict(imports=['rmt_mm.models'], allow_failed_imports=False)
    path = sys.argv[3] + '/cfg.py'
    Config(cfg).dump(path)
    cfg = Config.fromfile(path)  # fromfile is what runs custom_imports
    assert ('rmt_mm' in sys.modules) == with_imports, 'rmt_mm imported too early'
    init_default_scope(cfg.default_scope)
    registry = {'mmdet': 'mmdet.registry', 'mmseg': 'mmseg.registry',
                'mmpretrain': 'mmpretrain.registry'}[scope]
    MODELS = __import__(registry, fromlist=['MODELS']).MODELS
    model = MODELS.build(cfg.model)
    print(type(model).__module__, type(model).__name__)
''')


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg', 'mmpretrain'])
@pytest.mark.parametrize('with_imports', [False, True])
def test_rmt_builds_from_other_scopes(scope, with_imports, tmp_path):
    """A fresh interpreter builds type='rmt_mm.RMT' from each library's registry."""
    result = subprocess.run(
        [sys.executable, '-c', BUILD_SCRIPT, scope, str(int(with_imports)), str(tmp_path)],
        capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == 'rmt_mm.models.backbones.rmt RMT'


def test_rmt_registry_is_child_of_root():
    from mmengine.registry import MODELS as ROOT
    from rmt_mm.registry import MODELS
    assert MODELS.scope == 'rmt_mm'
    assert MODELS.parent is ROOT
    assert ROOT.children['rmt_mm'] is MODELS
    assert MODELS.get('RMT').__name__ == 'RMT'


def _toy_runner(work_dir, max_iters, resume=False):
    import torch.nn as nn
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Toy(BaseModel):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm1d(4)
            self.fc = nn.Linear(4, 1)

        def forward(self, inputs, labels=None, mode='tensor'):
            out = self.fc(self.bn(inputs)).squeeze(-1)
            if mode == 'loss':
                return dict(loss=((out - labels)**2).mean())
            return out

    g = torch.Generator().manual_seed(0)
    data = [dict(inputs=torch.randn(4, generator=g), labels=torch.tensor(float(i % 3)))
            for i in range(32)]
    torch.manual_seed(0)  # the same initial weights in every run
    return Runner(
        model=Toy(), work_dir=work_dir,
        train_dataloader=dict(dataset=data, batch_size=4,
                              sampler=dict(type='DefaultSampler', shuffle=True),
                              collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=0.01)),
        param_scheduler=dict(type='LinearLR', start_factor=0.1, by_epoch=False, end=4),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False),
                           logger=dict(type='LoggerHook', interval=1)),
        resume=resume, randomness=dict(seed=0, deterministic=True),
        default_scope='mmengine', experiment_name=f'toy_{max_iters}_{resume}')


def _pickled_globals(path):
    """'module.name' of every GLOBAL/STACK_GLOBAL in a torch zip checkpoint."""
    import pickletools
    import zipfile
    with zipfile.ZipFile(path) as zf:
        data = zf.read(next(n for n in zf.namelist() if n.endswith('data.pkl')))
    found, strings = set(), []
    for op, arg, _ in pickletools.genops(data):
        if op.name == 'GLOBAL':
            found.add(arg.replace(' ', '.'))
        elif op.name == 'STACK_GLOBAL':
            found.add('.'.join(strings[-2:]))
        if isinstance(arg, str):
            strings.append(arg)
    return found


def test_runner_checkpoint_resumes_with_weights_only(tmp_path):
    """Resume on torch 2.14 (weights_only=True) equals an uninterrupted run."""
    import rmt_mm  # registers the allow-list
    full = _toy_runner(str(tmp_path / 'full'), 6)
    full.train()
    first = _toy_runner(str(tmp_path / 'resumed'), 4)
    first.train()
    ckpt = tmp_path / 'resumed' / 'iter_4.pth'
    # Beyond torch's own, only the allow-listed globals are pickled, and no getattr.
    pickled = _pickled_globals(ckpt)
    allowed = {f'{g.__module__}.{g.__qualname__}' for g in rmt_mm.utils.safe_globals()}
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in pickled
    assert not any(g.startswith(('builtins', '__builtin__')) for g in pickled), pickled
    assert {g for g in pickled if not g.startswith(('torch', 'collections', '_codecs'))} <= allowed
    resumed = _toy_runner(str(tmp_path / 'resumed'), 6, resume=True)
    resumed.train()
    assert resumed.iter == 6
    for (name, a), b in zip(full.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-6), name
    # test.py-style loading of the whole file works too.
    state = torch.load(str(tmp_path / 'resumed' / 'iter_6.pth'))
    assert state['meta']['iter'] == 6


class _RunsCode:
    def __reduce__(self):
        return (os.system, ('echo pwned > /dev/null',))


def test_checkpoint_that_runs_code_is_refused(tmp_path):
    import rmt_mm  # noqa: F401
    path = tmp_path / 'evil.pth'
    with open(path, 'wb') as f:
        pickle.dump({'state_dict': {'w': torch.zeros(1)}, 'x': _RunsCode()}, f)
    with pytest.raises(pickle.UnpicklingError, match='Weights only load failed'):
        torch.load(str(path))


def test_downstream_config_inherits_ours_by_scope(tmp_path):
    """`_base_ = 'rmt_mm::det/...'` resolves to the packaged configs (rmt_mm/.mim)."""
    import rmt_mm  # noqa: F401  (registers the rmt_mm config scope)
    from mmengine.config import Config
    config = tmp_path / 'my_mask_rcnn.py'
    config.write_text("_base_ = 'rmt_mm::det/mask_rcnn_rmt_s_fpn_1x_coco.py'\n"
                      "model = dict(roi_head=dict(bbox_head=dict(num_classes=3)))\n")
    cfg = Config.fromfile(str(config))
    assert cfg.model.backbone.type == 'rmt_mm.RMT' and cfg.model.backbone.arch == 's'
    assert cfg.model.roi_head.bbox_head.num_classes == 3
    assert cfg.optim_wrapper.optimizer.lr == 4e-4
