import glob
import json
import os.path as osp

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# Reference outputs of the official implementation (see tests/data/official/README.md).
FIXTURES = osp.join(REPO, 'tests', 'data', 'official')

# Per-stage arch keys of the official constructors, as stored in the fixtures' kwargs.
OFFICIAL_ARCH_KEYS = ('embed_dims', 'depths', 'num_heads', 'init_values', 'heads_ranges',
                      'mlp_ratios', 'chunkwise_recurrents', 'layerscales',
                      'layer_init_values', 'drop_path_rate')

# A small arch for fast tests: every stage form (decomposed and full) and layer scale.
TINY_ARCH = dict(
    embed_dims=[16, 32, 64, 128], depths=[1, 2, 2, 1], num_heads=[2, 2, 4, 8],
    init_values=[2, 2, 2, 2], heads_ranges=[4, 4, 6, 6], mlp_ratios=[3, 4, 3, 3],
    chunkwise_recurrents=[True, True, False, False], layerscales=[False, False, True, True],
    layer_init_values=1e-6, drop_path_rate=0.1)


def read_scalars(work_dir):
    """Every row mmengine logged to ``work_dir/*/vis_data/scalars.json``."""
    rows = []
    for path in glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')):
        with open(path) as f:
            rows += [json.loads(line) for line in f]
    return rows


def free_port():
    """A TCP port nobody listens on now, for a torchrun master."""
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return str(sock.getsockname()[1])


def fixture_path(name):
    path = osp.join(FIXTURES, name)
    if not osp.isfile(path):
        raise FileNotFoundError(f'reference fixture {path} is missing from the checkout')
    return path


@pytest.fixture(scope='session')
def dense_fixture():
    return torch.load(fixture_path('official_tiny_dense_backbone.pt'))


@pytest.fixture(scope='session')
def cls_fixture():
    return torch.load(fixture_path('official_tiny_classifier.pt'))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


SHAPE_CLASSES = ('disk', 'square', 'triangle')


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
