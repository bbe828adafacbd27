"""The analysis and picture tools run and write what they promise."""
import json
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from helpers import REPO, load_tool, run_python


def test_visualize_decay_writes_one_picture_per_stage(tmp_path):
    out = run_python('tools/visualize_decay.py', '--arch', 't', '--shape', '96', '128',
                     '--query', '0.25', '0.75', '--output-dir', str(tmp_path)).stdout
    assert 'overview' in out
    for i in range(4):
        with Image.open(tmp_path / f'decay_stage{i}.png') as img:
            width, height = img.size
            assert width > 300 and height > 300
            assert len(np.unique(np.asarray(img.convert('L')))) > 20  # a picture, not a blank
    assert osp.getsize(tmp_path / 'decay_overview.png') > 10_000


@pytest.mark.slow
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


@pytest.mark.slow
def test_benchmark_backbone_compile_column(tmp_path):
    """--compile times each model eager and compiled; a compiled row is compared with the
    compiled peer."""
    out_json = tmp_path / 'bench.json'
    out = run_python('tools/analysis_tools/benchmark_backbone.py', '--arch', 't', '--shape', '64',
                     '64', '--batch', '1', '--runs', '1', '--warmup', '1', '--impls', 'auto',
                     '--peers', 'ConvNeXt:atto', '--modes', 'infer', '--compile', '--no-memory',
                     '--out', str(out_json)).stdout
    assert '| mode | model | attn_impl | compiled | s/iter |' in out
    assert '| infer | RMT-T | auto | yes |' in out and '| infer | ConvNeXt:atto | - | yes |' in out
    rows = json.loads(out_json.read_text())['results']
    assert [(r['model'], r['compiled']) for r in rows] == [
        ('RMT-T', False), ('ConvNeXt:atto', False), ('RMT-T', True), ('ConvNeXt:atto', True)]
    assert rows[1]['vs_peer'] == rows[3]['vs_peer'] == 1.0
    assert rows[2]['vs_peer'] == rows[2]['images_per_second'] / rows[3]['images_per_second']


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
                     '--shape', '64', '64', '--out', str(tmp_path / 'f.json')).stdout
    assert 'params 14.33 M' in out
    result = json.loads((tmp_path / 'f.json').read_text())
    assert result['shape'] == [64, 64] and result['flops'] > result['flops_without_attention']


README_LINES = open(osp.join(REPO, 'README.md')).read().splitlines()


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
        for model in models:  # official releases: their page, with the README's code
            if 'Converted From' in model:
                code = model['Converted From']['Weights'].rsplit('pwd=', 1)[1]
                row = next(line for line in README_LINES if f'(`{code}`)' in line)
                assert f"`{model['Config'][len('configs/'):]}`" in row, (model['Name'], row)
    leaves = sorted(osp.relpath(p, REPO) for task in ('cls', 'det', 'seg')
                    for p in glob.glob(osp.join(REPO, 'configs', task, '*.py')))
    assert sorted(listed) == leaves


@pytest.mark.slow
def test_gpu_check_dry_run_on_cpu(tmp_path):
    """The prepared GPU check runs end to end (tiny sizes, CPU) and reports every case."""
    out = run_python('tools/analysis_tools/gpu_check.py', '--device', 'cpu', '--small',
                     '--runs', '1', '--output-dir', str(tmp_path)).stdout
    report = json.loads((tmp_path / 'gpu_check.json').read_text())
    assert report['failures'] == []
    cases = {(r['case'], r['impl']) for r in report['equality']}
    assert len(cases) == 5 * 3 and all(r['ok'] for r in report['equality'])
    assert [r['impl'] for r in report['dense_step']] == [
        'reference', 'sdpa', 'query_blocked', 'auto']
    assert '| RMT-tiny 2x3x64x96 | auto | fp32 |' in out


def test_outputs_go_to_work_dirs(tmp_path):
    result = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'visualize_decay.py'), '--arch', 't',
         '--shape', '64', '96'], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / 'work_dirs' / 'decay_maps').iterdir()) == [
        'decay_overview.png'] + [f'decay_stage{i}.png' for i in range(4)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ['work_dirs']


# tool -> its positional arguments; the ones with a config take --cfg-options
POSITIONALS = {
    'tools/train.py': ['C'], 'tools/test.py': ['C', 'K'],
    'tools/analysis_tools/get_flops.py': ['C'], 'tools/analysis_tools/benchmark.py': ['C'],
    'tools/misc/browse_dataset.py': ['C'], 'tools/deployment/pytorch2onnx.py': ['C'],
    'tools/analysis_tools/benchmark_backbone.py': [], 'tools/visualize_decay.py': [],
    'tools/deployment/onnx_demo.py': ['M', 'I'], 'tools/deployment/benchmark_onnx.py': [
        'C', 'M', 'I'], 'tools/analysis_tools/gpu_check.py': [],
    'tools/analysis_tools/profile_backbone.py': [],
}
CFG_OPTIONS = {'tools/train.py', 'tools/test.py', 'tools/analysis_tools/get_flops.py',
               'tools/analysis_tools/benchmark.py', 'tools/misc/browse_dataset.py',
               'tools/deployment/pytorch2onnx.py', 'tools/deployment/benchmark_onnx.py'}


@pytest.mark.parametrize('tool, options', [
    ('tools/analysis_tools/get_flops.py', ['--shape', '64', '96', '--out', 'f.json']),
    ('tools/analysis_tools/benchmark.py', ['--shape', '64', '96', '--out', 'f.json',
                                           '--device', 'cpu']),
    ('tools/analysis_tools/benchmark_backbone.py', ['--shape', '64', '96', '--device', 'cpu']),
    ('tools/visualize_decay.py', ['--shape', '64', '96', '--output-dir', 'd']),
    ('tools/misc/browse_dataset.py', ['--output-dir', 'd']),
    ('tools/deployment/pytorch2onnx.py', ['--shape', '64', '96', '--out', 'f.onnx']),
    ('tools/deployment/onnx_demo.py', ['--out', 'p.jpg']),
    ('tools/deployment/benchmark_onnx.py', ['--out', 'f.json']),
    ('tools/analysis_tools/gpu_check.py', ['--output-dir', 'd', '--device', 'cpu']),
    ('tools/analysis_tools/profile_backbone.py', ['--shape', '64', '96', '--out', 'f.json']),
    ('tools/test.py', ['--device', 'cpu', '--work-dir', 'w']),
    ('tools/train.py', ['--device', 'cpu', '--work-dir', 'w']),
])
def test_tools_share_one_spelling_for_the_same_job(tool, options, capsys, monkeypatch):
    """--shape, --device, --out (a file), --output-dir (a folder), --cfg-options, as mmdet's
    tools; the earlier spellings are gone."""
    monkeypatch.delenv('CUDA_VISIBLE_DEVICES', raising=False)  # restored afterwards
    parse_args = load_tool(tool).parse_args
    args = vars(parse_args(POSITIONALS[tool] + options))
    expected = {'shape': [64, 96], 'out': next((v for k, v in zip(options, options[1:])
                                                if k == '--out'), None),
                'output_dir': 'd', 'device': 'cpu', 'work_dir': 'w'}
    for name in ('--shape', '--out', '--output-dir', '--device', '--work-dir'):
        if name in options:
            key = name[2:].replace('-', '_')
            assert args[key] == expected[key], name
    if '--device' in options:  # one meaning: cpu hides CUDA at once, cuda:N shows GPU N only
        assert os.environ['CUDA_VISIBLE_DEVICES'] == ''
        monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '4,5')
        assert parse_args(POSITIONALS[tool] + ['--device', 'cuda:1']).device == 'cuda'
        assert os.environ['CUDA_VISIBLE_DEVICES'] == '5'
        with pytest.raises(SystemExit):
            parse_args(POSITIONALS[tool] + ['--device', 'gpu'])
    if tool in CFG_OPTIONS:
        assert parse_args(POSITIONALS[tool] + ['--cfg-options', 'a.b=1']).cfg_options == \
            {'a.b': 1}
    for old in ('--size', '--image-size', '--json', '--out-dir'):
        with pytest.raises(SystemExit):
            parse_args(POSITIONALS[tool] + [old, '1'])
    capsys.readouterr()
    # the usage in the tool's docstring names only options it takes
    with pytest.raises(SystemExit):
        parse_args(POSITIONALS[tool] + ['--help'])
    accepted = set(re.findall(r'(--[a-z][a-z-]*)', capsys.readouterr().out))
    documented = set(re.findall(r'(--[a-z][a-z-]*)', load_tool(tool).__doc__))
    assert documented <= accepted, documented - accepted


def test_profile_backbone_sums_operators_into_families(tmp_path):
    """The profile behind docs/benchmarks.md's table: every family of each model, the
    attention of RMT included, adds up to the total."""
    out = str(tmp_path / 'profile.json')
    stdout = run_python('tools/analysis_tools/profile_backbone.py', '--arch', 't', '--batch',
                        '1', '--shape', '64', '64', '--peers', 'ConvNeXt:tiny', '--runs', '1',
                        '--out', out).stdout
    table = json.load(open(out))['ms']
    assert set(table) == {'RMT-T', 'ConvNeXt:tiny'}
    for families in table.values():
        parts = sum(v for k, v in families.items() if k != 'total')
        assert parts == pytest.approx(families['total']) and families['total'] > 0
    assert table['RMT-T']['attention'] > 0 and table['RMT-T']['convolutions'] > 0
    assert table['ConvNeXt:tiny']['attention'] == 0
    assert '| attention |' in stdout and '| total |' in stdout
