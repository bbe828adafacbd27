"""rmt_mm.compat: each change rmt_mm makes to mmengine and torch, and its version guard."""
import os
import pickle

import pytest
import torch


def test_every_patch_is_applied_once_and_listed(monkeypatch):
    import re  # the module's docstring lists, numbered, exactly the patches apply() runs

    import mmengine.config.config as config_module
    from mmengine.logging.history_buffer import HistoryBuffer

    import rmt_mm
    from rmt_mm import compat
    assert tuple(re.findall(r'^\d+\. ``(\w+)``', compat.__doc__, re.M)) == compat.PATCHES
    calls = []  # apply() runs exactly the listed patches, each once
    for name in compat.PATCHES:
        monkeypatch.setattr(compat, f'patch_{name}', lambda name=name: calls.append(name))
    compat.apply()
    assert calls == list(compat.PATCHES)
    monkeypatch.undo()
    wrapped = config_module.get_installed_path
    rmt_mm.compat.apply()  # again: nothing is wrapped twice
    assert config_module.get_installed_path is wrapped
    assert wrapped.wrapped('mmdet') == wrapped('mmdet')  # other packages unchanged
    assert wrapped('rmt_mm') == os.path.dirname(rmt_mm.__file__)
    assert HistoryBuffer.__getstate__ is compat._history_buffer_getstate


@pytest.mark.parametrize('mmengine_version', ['0.8.5', '0.11.0'])
def test_versions_outside_the_guard_are_refused(mmengine_version):
    from rmt_mm import compat
    compat.check_versions('0.10.7')
    compat.check_versions('0.9.1')
    with pytest.raises(compat.CompatError, match='written for mmengine 0.9.x and 0.10.x, '
                       f'found {mmengine_version}'):
        compat.check_versions(mmengine_version)


def test_changed_history_buffer_is_refused(monkeypatch):
    from mmengine.logging.history_buffer import HistoryBuffer

    from rmt_mm import compat
    monkeypatch.setattr(HistoryBuffer, '__getstate__', lambda self: {})  # not ours any more
    monkeypatch.delattr(HistoryBuffer, '_statistics_methods')
    with pytest.raises(compat.CompatError, match='no longer defines __getstate__'):
        compat.patch_history_buffer_state()


def test_atomic_file_backend_is_registered():
    from mmengine.fileio.backends import backends

    import rmt_mm  # noqa: F401
    from rmt_mm.utils.fileio import AtomicLocalBackend
    assert backends['rmt_mm_atomic_local'] is AtomicLocalBackend


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
    allowed = {f'{g.__module__}.{g.__qualname__}' for g in rmt_mm.compat.safe_globals()}
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in pickled
    assert not any(g.startswith(('builtins', '__builtin__')) for g in pickled), pickled
    assert {g for g in pickled if not g.startswith(('torch', 'collections', '_codecs'))} <= allowed
    resumed = _toy_runner(str(tmp_path / 'resumed'), 6, resume=True)
    resumed.train()
    assert resumed.iter == 6
    # mmengine 0.9 restarts the data loader of an iteration-based run at resume (0.10 skips
    # the batches already trained), so only 0.10 resumes into the uninterrupted run
    # (docs/compatibility.md).
    import mmengine
    if not mmengine.__version__.startswith('0.9.'):
        for (name, a), b in zip(full.model.state_dict().items(),
                                resumed.model.state_dict().values()):
            assert torch.allclose(a.float(), b.float(), atol=1e-6), name
    # test.py-style loading of the whole file works too.
    state = torch.load(str(tmp_path / 'resumed' / 'iter_6.pth'))
    assert state['meta']['iter'] == 6


class _RunsCode:
    def __reduce__(self):
        return (os.system, ('echo pwned > /dev/null',))


def test_checkpoint_that_runs_code_is_refused(tmp_path):
    """rmt_mm's own loads (the converter's, with argparse.Namespace allowed) refuse a pickle
    that runs code on every supported torch; mmengine's loads (resume, load_from) are refused
    by torch's default from torch 2.6 on (before it, torch unpickles them fully:
    docs/compatibility.md)."""
    import argparse

    import rmt_mm  # noqa: F401
    from rmt_mm.utils.torch_api import TORCH_VERSION, load_weights_only
    good, evil = tmp_path / 'good.pth', tmp_path / 'evil.pth'
    state = {'state_dict': {'w': torch.ones(2)}, 'args': argparse.Namespace(lr=0.1)}
    torch.save(state, good)
    torch.save(dict(state, x=_RunsCode()), evil)
    loaded = load_weights_only(str(good), [argparse.Namespace])
    assert loaded['args'].lr == 0.1 and torch.equal(loaded['state_dict']['w'], torch.ones(2))
    for extra in ([], [argparse.Namespace]):
        with pytest.raises(pickle.UnpicklingError, match='Weights only load failed'):
            load_weights_only(str(evil), extra)
    if TORCH_VERSION >= (2, 6):
        with pytest.raises(pickle.UnpicklingError, match='Weights only load failed'):
            torch.load(str(evil))


def test_downstream_config_inherits_ours_by_scope(tmp_path):
    """`_base_ = 'rmt_mm::det/...'` resolves to the packaged configs (rmt_mm/.mim)."""
    from mmengine.config import Config

    import rmt_mm  # noqa: F401  (registers the rmt_mm config scope)
    config = tmp_path / 'my_mask_rcnn.py'
    config.write_text("_base_ = 'rmt_mm::det/mask_rcnn_rmt_s_fpn_1x_coco.py'\n"
                      "model = dict(roi_head=dict(bbox_head=dict(num_classes=3)))\n")
    cfg = Config.fromfile(str(config))
    assert cfg.model.backbone.type == 'rmt_mm.RMT' and cfg.model.backbone.arch == 's'
    assert cfg.model.roi_head.bbox_head.num_classes == 3
    assert cfg.optim_wrapper.optimizer.lr == 4e-4


def test_import_changes_nothing_for_other_models():
    """In a fresh interpreter: ``import rmt_mm`` imports none of mmpretrain, mmdet, mmseg or
    the engine layer, leaves mmengine's FLOP handles as they were (another model's fused
    attention counts the same before and after); mmpretrain's model hub learns our models
    from ``import rmt_mm.models``, which imports mmpretrain anyway."""
    code = '''
import sys
import torch
import torch.nn.functional as F
from mmengine.analysis import FlopAnalyzer
import mmengine.analysis.complexity_analysis as analysis

class Attention(torch.nn.Module):  # what mmpretrain's ViT runs
    def forward(self, q):
        return F.scaled_dot_product_attention(q, q, q)

q = torch.randn(1, 2, 16, 8)
handles = dict(analysis._DEFAULT_SUPPORTED_FLOP_OPS)
before = FlopAnalyzer(Attention(), (q, )).total()
import rmt_mm
loaded = sorted(m for m in ('mmpretrain', 'mmdet', 'mmseg', 'rmt_mm.engine.hooks',
                            'rmt_mm.models', 'mmengine.hooks') if m in sys.modules)
print(loaded, FlopAnalyzer(Attention(), (q, )).total() == before,
      analysis._DEFAULT_SUPPORTED_FLOP_OPS == handles)
from mmpretrain import list_models
print('rmt_t_in1k' in list_models('*rmt*'))
import rmt_mm.models
print('rmt_t_in1k' in list_models('*rmt*'), 'mmpretrain' in sys.modules)
'''
    from helpers import run_python
    lines = [line for line in run_python('-c', code, timeout=300).stdout.split('\n')
             if line and ' - mmengine - ' not in line]  # the analyzer's own warnings
    assert lines == ['[] True True', 'False', 'True True']


def test_mmengine_flop_counter_counts_the_fused_attention():
    """What mmdet's/mmpretrain's get_flops see (mmengine's counter, default 'auto' MaSA)
    equals fvcore's count of the official RMT-T classifier."""
    import json

    from mmengine.analysis import get_model_complexity_info
    from mmengine.registry import MODELS, init_default_scope

    import rmt_mm  # noqa: F401

    from helpers import REPO
    with open(os.path.join(REPO, 'tests', 'data', 'official', 'official_archs.json')) as f:
        official = json.load(f)['T']['classifier_flops_224_fvcore']
    init_default_scope('mmpretrain')
    model = MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='rmt_mm.RMT', arch='t', out_indices=(3, ), out_norm=False),
        neck=dict(type='rmt_mm.RMTClsNeck', in_channels=512, out_channels=1024),
        head=dict(type='LinearClsHead', num_classes=1000, in_channels=1024))).eval()
    with torch.no_grad():
        flops = get_model_complexity_info(model, input_shape=(3, 224, 224), show_table=False,
                                          show_arch=False)['flops']
    assert flops == official


def test_mmpretrain_model_hub_knows_rmt_by_name():
    """``import rmt_mm.models`` registers the ImageNet models with mmpretrain's hub."""
    import numpy as np
    from mmpretrain import get_model, inference_model, list_models

    from rmt_mm.models.classifiers import register_model_index
    assert {'rmt_t_in1k', 'rmt_s_in1k_384px', 'rmt_l_token_label_in1k'} <= \
        set(list_models('*rmt*'))
    assert register_model_index()  # registering twice is a no-op, not a clash
    model = get_model('rmt_t_in1k')
    assert type(model.backbone).__name__ == 'RMT'
    assert sum(p.numel() for p in model.parameters()) == 14_334_216
    result = inference_model('rmt_t_in1k', np.zeros((64, 64, 3), np.uint8))
    assert 0 <= result['pred_label'] < 1000 and len(result['pred_scores']) == 1000
