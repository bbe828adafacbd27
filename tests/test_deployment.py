"""ONNX export of the RMT backbone, the classifier and the segmentor, run by onnxruntime."""
import os.path as osp

import pytest
import torch

from helpers import REPO, load_tool, run_python

CLS = osp.join(REPO, 'configs', 'cls', 'rmt_t_in1k.py')
SEG = osp.join(REPO, 'configs', 'seg', 'fpn_rmt_t_80k_ade20k_512x512.py')


def deployment():
    return load_tool('tools/deployment/pytorch2onnx.py')


@pytest.mark.slow
@pytest.mark.parametrize('config, part, shapes, dynamic', [
    (CLS, 'backbone', [(224, 224), (160, 192)], True),
    (CLS, 'model', [(224, 224), (96, 128)], True),
    (SEG, 'model', [(128, 160)], False),
    (SEG, 'model', [(96, 96)], False),  # a segmentor is exported per size
])
def test_export_matches_onnxruntime(config, part, shapes, dynamic, tmp_path):
    tool = deployment()
    out = str(tmp_path / 'model.onnx')
    module, shape = tool.export(config, out, part, shapes[0], dynamic)
    probe = torch.randn(1, 3, *shapes[-1])
    with torch.no_grad():
        before = module(probe)
    for size in shapes:
        assert tool.max_difference(module, out, size) < 1e-4, size
    with torch.no_grad():  # exporting leaves the eager model (and its caches) as they were
        after = module(probe)
    for a, b in zip(before if isinstance(before, tuple) else [before],
                    after if isinstance(after, tuple) else [after]):
        assert torch.equal(a, b)


def test_rotation_in_real_arithmetic_equals_the_complex_one():
    from rmt_mm.models.layers.masa import RelPos2d, rotate_complex, rotate_pairs
    relpos = RelPos2d(64, 4, 2, 4)
    x = torch.randn(2, 5, 7, 4, 16)
    sin, cos = (t[..., ::2].unsqueeze(2) for t in relpos.rotary(5, 7))
    torch.testing.assert_close(rotate_pairs(x, cos, sin),
                               rotate_complex(x, relpos.phasor(5, 7).unsqueeze(2)))


def test_dynamic_segmentor_export_is_refused_with_the_reason(tmp_path):
    run = run_python('tools/deployment/pytorch2onnx.py', SEG, '--dynamic', '--out',
                     str(tmp_path / 'seg.onnx'), check=False)
    assert run.returncode != 0
    assert 'cannot be exported with dynamic H/W' in run.stderr
    assert '--part backbone' in run.stderr
