"""The analysis and picture tools run and write what they promise."""
import json
import os.path as osp
import subprocess
import sys

import pytest
from PIL import Image

from helpers import REPO, run_python


def test_visualize_decay_writes_one_picture_per_stage(tmp_path):
    out = run_python('tools/visualize_decay.py', '--arch', 't', '--shape', '96', '128',
                     '--query', '0.25', '0.75', '--out-dir', str(tmp_path)).stdout
    assert 'overview' in out
    for i in range(4):
        with Image.open(tmp_path / f'decay_stage{i}.png') as img:
            width, height = img.size
            assert width > 300 and height > 300
            assert len(set(img.convert('L').getdata())) > 20  # a picture, not a blank
    assert osp.getsize(tmp_path / 'decay_overview.png') > 10_000


def test_benchmark_backbone_table_and_json(tmp_path):
    out_json = tmp_path / 'bench.json'
    out = run_python('tools/analysis_tools/benchmark_backbone.py', '--arch', 't', '--shape', '64',
                     '64', '--batch', '1', '--runs', '1', '--warmup', '0', '--impls',
                     'reference', 'auto', 'query_blocked', '--peers', 'ConvNeXt:atto',
                     '--out', str(out_json)).stdout
    assert '| infer | RMT-T | reference |' in out and '| train | RMT-T | query_blocked |' in out
    assert '| train | ConvNeXt:atto | - |' in out and 'img/s vs ConvNeXt:atto' in out
    report = json.loads(out_json.read_text())
    assert [(r['mode'], r['model'], r['impl']) for r in report['results']] == [
        (mode, model, impl) for mode in ('infer', 'train')
        for model, impl in [('RMT-T', 'reference'), ('RMT-T', 'auto'), ('RMT-T', 'query_blocked'),
                            ('ConvNeXt:atto', None)]]
    assert all(r['peak_memory_mib'] > 0 and r['images_per_second'] > 0
               for r in report['results'])
    peer = report['results'][3]
    assert peer['vs_peer'] == 1.0 and report['results'][0]['speedup'] == 1.0


def test_timed_steps_train_or_infer():
    import torch

    from rmt_mm.apis.timing import median_seconds, model_step
    model = torch.nn.Conv2d(3, 4, 1)
    x = torch.randn(2, 3, 4, 4)
    before = model.weight.detach().clone()
    model_step(model, x, train=False)()
    assert not model.training and torch.equal(model.weight, before)
    model_step(model, x, train=True, dtype='bf16')()
    assert model.training and not torch.equal(model.weight, before)
    with pytest.raises(ValueError, match=r"dtype='fp8' is not one of \['fp32', 'fp16'"):
        model_step(model, x, train=True, dtype='fp8')
    calls = []
    assert median_seconds(lambda: calls.append(1), runs=3, warmup=2) >= 0 and len(calls) == 5


def test_benchmark_backbone_names_an_unknown_peer():
    result = subprocess.run(
        [sys.executable, 'tools/analysis_tools/benchmark_backbone.py', '--peers', 'Swin:tiny'],
        capture_output=True, text=True, cwd=REPO)
    assert result.returncode != 0
    assert "--peers Swin:tiny: 'Swin' is not a backbone in mmpretrain's registry" in \
        result.stderr


def test_get_flops_prints_params_and_flops(tmp_path):
    out = run_python('tools/analysis_tools/get_flops.py', 'configs/cls/rmt_t_in1k.py',
                     '--shape', '64', '64', '--json', str(tmp_path / 'f.json')).stdout
    assert 'params 14.33 M' in out
    result = json.loads((tmp_path / 'f.json').read_text())
    assert result['shape'] == [64, 64] and result['flops'] > result['flops_without_attention']


def test_metafiles_list_exactly_the_configs():
    import glob

    import yaml
    with open(osp.join(REPO, 'model-index.yml')) as f:
        imports = yaml.safe_load(f)['Import']
    listed = []
    for metafile in imports:
        with open(osp.join(REPO, metafile)) as f:
            models = yaml.safe_load(f)['Models']
        for model in models:
            assert osp.isfile(osp.join(REPO, model['Config'])), model['Config']
            assert model['Name'] == osp.splitext(osp.basename(model['Config']))[0]
            listed.append(model['Config'])
    leaves = sorted(osp.relpath(p, REPO) for task in ('cls', 'det', 'seg')
                    for p in glob.glob(osp.join(REPO, 'configs', task, '*.py')))
    assert sorted(listed) == leaves


@pytest.mark.slow
def test_gpu_check_dry_run_on_cpu(tmp_path):
    """The prepared GPU check runs end to end (tiny sizes, CPU) and reports every case."""
    out = run_python('tools/analysis_tools/gpu_check.py', '--device', 'cpu', '--small',
                     '--runs', '1', '--out-dir', str(tmp_path)).stdout
    report = json.loads((tmp_path / 'gpu_check.json').read_text())
    assert report['failures'] == []
    cases = {(r['case'], r['impl']) for r in report['equality']}
    assert len(cases) == 5 * 3 and all(r['ok'] for r in report['equality'])
    assert [r['impl'] for r in report['dense_step']] == [
        'reference', 'sdpa', 'query_blocked', 'auto']
    assert '| RMT-tiny 2x3x64x96 | auto | fp32 |' in out


def test_old_option_names_are_accepted_with_a_message_and_outputs_go_to_work_dirs(tmp_path):
    result = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'visualize_decay.py'), '--arch', 't',
         '--image-size', '64', '96'], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert '--image-size is renamed --shape' in result.stderr
    assert sorted(p.name for p in (tmp_path / 'work_dirs' / 'decay_maps').iterdir()) == [
        'decay_overview.png'] + [f'decay_stage{i}.png' for i in range(4)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ['work_dirs']


def test_shape_argument_has_one_name():
    import argparse

    from rmt_mm.apis.cli import add_shape_argument
    parser = add_shape_argument(argparse.ArgumentParser(prog='tool'), [224, 224],
                                old_names=('--size', ))
    assert parser.parse_args([]).shape == [224, 224]
    assert parser.parse_args(['--shape', '64', '96']).shape == [64, 96]
    with pytest.warns(FutureWarning, match='tool: --size is renamed --shape'):
        assert parser.parse_args(['--size', '32', '48']).shape == [32, 48]
