"""Fixtures of the suite; shared constants and helpers live in helpers.py."""
import pytest
import torch

from helpers import SHAPE_CLASSES, fixture_path


@pytest.fixture(scope='session')
def dense_fixture():
    return torch.load(fixture_path('official_tiny_dense_backbone.pt'))


@pytest.fixture(scope='session')
def cls_fixture():
    return torch.load(fixture_path('official_tiny_classifier.pt'))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope='session')
def coco_root(tmp_path_factory):
    """A generated COCO-format instance set (boxes and polygons) of SHAPE_CLASSES."""
    from rmt_mm.datasets import make_coco_instance_set
    return make_coco_instance_set(str(tmp_path_factory.mktemp('coco')), SHAPE_CLASSES)


@pytest.fixture(scope='session')
def ade_root(tmp_path_factory):
    """A generated ADE20K-format semantic set of SHAPE_CLASSES (reduce_zero_label layout)."""
    from rmt_mm.datasets import make_ade_semantic_set
    return make_ade_semantic_set(str(tmp_path_factory.mktemp('ade')), SHAPE_CLASSES)


@pytest.fixture(scope='session')
def rmt_wheel(tmp_path_factory):
    """rmt_mm built as a wheel (``pip wheel .``) from a copy of the checkout, so that the
    checkout itself is left as it is (its .mim links stay links, no build folders)."""
    import glob
    import os.path as osp
    import shutil
    import subprocess
    import sys

    from helpers import REPO
    root = tmp_path_factory.mktemp('wheel')
    source = root / 'source'
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(
        '.venv', '.venvs', 'work_dirs', 'data', '.git', 'build', '*.egg-info', '__pycache__'))
    built = subprocess.run([sys.executable, '-m', 'pip', '--disable-pip-version-check', '-q',
                            'wheel', '--no-deps', '--no-build-isolation', '-w',
                            str(root / 'dist'), str(source)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    assert osp.islink(source / 'rmt_mm' / '.mim' / 'configs')  # the copy's links untouched
    (wheel, ) = glob.glob(str(root / 'dist' / 'rmt_mm-*.whl'))
    return wheel
