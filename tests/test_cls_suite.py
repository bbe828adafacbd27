"""Classification suite: configs, official checkpoint conversion, train/test end to end."""
import glob
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from helpers import OFFICIAL_ARCH_KEYS, REPO, TINY_ARCH, fixture_path, read_scalars, run_python
from task_configs import tiny_cls_config

CLS_CONFIGS = {v: osp.join(REPO, 'configs', 'cls', f'rmt_{v}_in1k.py') for v in 'tsbl'}


def build_from_config(path):
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(path)
    init_default_scope(cfg.default_scope)
    return cfg, MODELS.build(cfg.model)


@pytest.mark.parametrize('variant', 'TSBL')
def test_config_params_equal_official_classifier(variant):
    with open(fixture_path('official_archs.json')) as f:
        official = json.load(f)[variant]
    cfg, model = build_from_config(CLS_CONFIGS[variant.lower()])
    assert sum(p.numel() for p in model.parameters()) == official['classifier_params']
    assert cfg.model.backbone.drop_path_rate == official['arch']['drop_path_rate']


def test_384_finetune_config_runs_at_384():
    cfg, model = build_from_config(osp.join(REPO, 'configs', 'cls', 'rmt_s_in1k_384px.py'))
    assert cfg.test_pipeline[1].scale == 384
    model.backbone = type(model.backbone)(arch=TINY_ARCH, out_indices=(3, ), out_norm=False)
    model.neck = type(model.neck)(128, 1024)
    model.eval()
    with torch.no_grad():
        feats = model.backbone(torch.randn(1, 3, 384, 384))
    assert feats[0].shape == (1, 128, 12, 12)


def test_converter_on_official_classifier(cls_fixture, tmp_path):
    src = tmp_path / 'rmt_tiny_official.pth'
    torch.save({'model': cls_fixture['state_dict']}, src)
    dst = tmp_path / 'rmt_tiny_mm.pth'
    result = run_python('tools/model_converters/rmt_official_to_mm.py', str(src), str(dst),
                        '--task', 'cls')
    assert 'could not be placed: none' in result.stdout
    kwargs = cls_fixture['kwargs']
    arch = {k: kwargs[k] for k in OFFICIAL_ARCH_KEYS}
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    model = MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='rmt_mm.RMT', arch=arch, out_indices=(3, ), out_norm=False),
        neck=dict(type='rmt_mm.RMTClsNeck', in_channels=128, out_channels=96),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=96)))
    state = torch.load(dst)
    model.load_state_dict(state['state_dict'], strict=True)
    model.eval()
    with torch.no_grad():
        logits = model(cls_fixture['input'], mode='tensor')
    torch.testing.assert_close(logits, cls_fixture['output'], atol=1e-5, rtol=0)




@pytest.mark.slow
def test_train_and_test_tools_end_to_end(tmp_path):
    from rmt_mm.datasets import make_classification_set
    data = make_classification_set(str(tmp_path / 'data'), num_classes=4, per_class=8)
    config = tmp_path / 'rmt_tiny_cls.py'
    tiny_cls_config(data).dump(str(config))
    work_dir = tmp_path / 'work'
    train = run_python('tools/train.py', str(config), '--work-dir', str(work_dir),
                       '--device', 'cpu')
    assert 'AmpOptimWrapper -> OptimWrapper' in train.stdout + train.stderr
    scalars = read_scalars(str(work_dir))
    losses = [r['loss'] for r in scalars if 'loss' in r]
    assert len(losses) == 48
    assert sum(losses[-8:]) / 8 < 0.85 * sum(losses[:8]) / 8, losses
    # The trained weights and their EMA are both evaluated; the best checkpoint follows the
    # better one. At 8 images per iteration the EMA moves by 1 - 0.99996 ** (8 / 512) per
    # iteration: after 48 iterations it is still the untrained model.
    assert 'total batch 8: momentum 6.25e-07 per iteration' in train.stdout + train.stderr
    # Both are evaluated (after 48 iterations on 4 classes both may still score chance, so
    # equal accuracies are legitimate; the checkpoint below shows the weights differ).
    (final, ) = [r for r in scalars if 'raw_or_ema/accuracy/top1' in r]
    assert 'accuracy/top1' in final and 'ema/accuracy/top1' in final, final
    assert final['raw_or_ema/accuracy/top1'] == max(final['accuracy/top1'],
                                                    final['ema/accuracy/top1'])
    (best, ) = glob.glob(str(work_dir / 'best_raw_or_ema_accuracy_top1_epoch_12.pth'))
    # mmengine's layout: state_dict holds the EMA, ema_state_dict the trained weights, and the
    # EMA averages the BatchNorm statistics too.
    checkpoint = torch.load(best)
    key = 'neck.norm.running_mean' if 'neck.norm.running_mean' in checkpoint['state_dict'] \
        else next(k for k in checkpoint['state_dict'] if k.endswith('running_mean'))
    trained, averaged = checkpoint['ema_state_dict']['module.' + key], checkpoint['state_dict'][key]
    assert not torch.allclose(trained, averaged)

    test = run_python('tools/test.py', '--device', 'cpu', str(config),
                      str(work_dir / 'epoch_12.pth'), '--work-dir', str(tmp_path / 'test'),
                      timeout=600)
    assert "'accuracy/top1'" in test.stdout


@pytest.mark.parametrize('variant', 'TS')
def test_flops_equal_fvcore_count_of_official_model(variant):
    from rmt_mm.apis.analysis import complexity
    with open(fixture_path('official_archs.json')) as f:
        official = json.load(f)[variant]
    result = complexity(CLS_CONFIGS[variant.lower()])
    assert result['flops'] == official['classifier_flops_224_fvcore']
    assert result['params'] == official['classifier_params']
    assert result['flops_without_attention'] < result['flops']
