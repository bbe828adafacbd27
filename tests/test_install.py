"""rmt_mm in a user's environment: the versions checked at import (rmt_mm/version.py), and a
built wheel that installs without touching the stack (what it brings and serves from a
folder outside the clone: test_ecosystem.py)."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from helpers import REPO, run_python


def test_versions_outside_the_tested_ranges_are_named_with_what_to_do():
    from rmt_mm.version import unsupported
    assert unsupported() == []  # this environment
    problems = unsupported({'torch': '2.0.1', 'mmcv': '2.2.0', 'mmdet': '3.1.0',
                            'mmseg': '1.2.2', 'mmpretrain': None}, python=(3, 13))
    assert problems == [
        'Python 3.13: rmt_mm 0.1.0 is tested with Python 3.10 to 3.12; use one of those',
        'torch 2.0.1: rmt_mm 0.1.0 is tested with torch 2.1 to 2.15; install one of those (pip '
        'install "torch>=2.1,<2.16" and an mmcv built for it; README, "Use rmt_mm in your own '
        'environment")',
        'mmcv 2.2.0: rmt_mm 0.1.0 is tested with mmcv 2.1; install one of those (pip install '
        '"mmcv>=2.1,<2.2" built for your torch; README, "Use rmt_mm in your own environment")',
        'mmdet 3.1.0: rmt_mm 0.1.0 is tested with mmdet 3.2 to 3.3; install one of those (pip '
        'install "mmdet>=3.2,<3.4")']
    # inside the range, but broken as published
    assert unsupported({'mmseg': '1.2.0'}) == [
        'mmseg 1.2.0: its PyPI wheel lacks mmseg/utils/bpe_simple_vocab_16e6.txt.gz, so '
        'mmseg.models fails to import (pip install "mmsegmentation>=1.2.1,<1.3")']


def _pins(path):
    pins = {}
    for line in open(path):
        if '==' in line and not line.startswith('#'):
            name, version = line.strip().split('==')
            pins[{'mmsegmentation': 'mmseg'}.get(name, name)] = version
    return pins


@pytest.mark.parametrize('stack', ['requirements/stack.txt', *sorted(
    osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'requirements', 'matrix', '*.txt')))])
def test_every_tested_stack_is_inside_the_checked_ranges(stack):
    """The ranges checked at import are the ones the matrix tests, and none is wider than the
    stacks it runs (docs/compatibility.md)."""
    from rmt_mm.version import SUPPORTED, unsupported
    path = osp.join(REPO, stack)
    pins = {k: v for k, v in _pins(path).items() if k in SUPPORTED}
    python = tuple(int(p) for p in open(path).readline().split(':')[1].split('.'))
    assert set(pins) == set(SUPPORTED)
    assert unsupported(pins, python) == []


def test_the_compatibility_page_states_the_checked_ranges():
    from rmt_mm.version import PYTHON, SUPPORTED, _span
    page = open(osp.join(REPO, 'docs', 'compatibility.md')).read()
    readme = open(osp.join(REPO, 'README.md')).read()
    for name, (low, high, _) in SUPPORTED.items():
        assert f'{name} {_span(low, high)}' in page and f'{name} {_span(low, high)}' in readme
    assert f'Python {_span(*PYTHON)}' in page and f'Python {_span(*PYTHON)}' in readme


def test_an_unsupported_package_stops_import_with_what_to_do(tmp_path):
    """An mmdet 3.0 (a package folder ahead on the path) stops ``import rmt_mm``; with the
    escape hatch it is a warning."""
    fake = tmp_path / 'site' / 'mmdet'
    fake.mkdir(parents=True)
    (fake / '__init__.py').write_text('')
    (fake / 'version.py').write_text("__version__ = '3.0.0'\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path / 'site'))
    refused = run_python('-c', 'import rmt_mm', env=env, check=False, cwd=str(tmp_path))
    last = refused.stderr.strip().splitlines()[-1]
    assert last.startswith('rmt_mm.version.UnsupportedVersionError: mmdet 3.0.0: rmt_mm 0.1.0 '
                           'is tested with mmdet 3.2 to 3.3; install one of those (pip install '
                           '"mmdet>=3.2,<3.4")'), last
    assert last.endswith('To try anyway, set RMT_MM_SKIP_VERSION_CHECK=1.')
    env['RMT_MM_SKIP_VERSION_CHECK'] = '1'
    allowed = run_python('-W', 'always', '-c', 'import rmt_mm; print(rmt_mm.__version__)',
                         env=env, cwd=str(tmp_path))
    assert allowed.stdout.strip() == '0.1.0'
    assert 'mmdet 3.0.0' in allowed.stderr and 'going on' in allowed.stderr


def test_installing_the_wheel_into_an_in_range_stack_changes_none_of_its_packages(rmt_wheel,
                                                                                  tmp_path):
    """pip's own report of the install: rmt_mm and nothing else (no torch, no OpenMMLab
    package is replaced)."""
    report = tmp_path / 'report.json'
    subprocess.run([sys.executable, '-m', 'pip', 'install', '--dry-run', '--no-index',
                    '--disable-pip-version-check', '-q', '--report', str(report), rmt_wheel],
                   check=True, capture_output=True, text=True, timeout=300)
    installs = json.loads(report.read_text())['install']
    assert [item['metadata']['name'] for item in installs] == ['rmt_mm']
    requires = [r for r in installs[0]['metadata'].get('requires_dist', [])
                if 'extra ==' not in r]  # extras (rmt_mm[tests]) only on request
    assert requires == ['numpy', 'ftfy', 'regex']
    assert not any(r.split()[0].split(';')[0] in ('torch', 'mmcv', 'mmengine', 'mmdet',
                                                  'mmsegmentation', 'mmpretrain', 'torchvision')
                   for r in requires), requires
    assert not any('==' in r for r in requires), requires
