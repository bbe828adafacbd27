"""The pinned stack: compiled mmcv ops, registry scopes, and checkpoints under torch >= 2.6."""
import textwrap

import pytest
import torch

from helpers import run_python


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
    result = run_python('-c', BUILD_SCRIPT, scope, str(int(with_imports)), str(tmp_path),
                        timeout=300)
    assert result.stdout.strip().splitlines()[-1] == 'rmt_mm.models.backbones.rmt RMT'


REGISTERED = textwrap.dedent('''
    import importlib, json, pkgutil, sys
    import rmt_mm, rmt_mm.registry as registry
    registries = {name: value for name, value in vars(registry).items()
                  if type(value).__name__ == 'Registry' and value.scope == 'rmt_mm'}
    if sys.argv[1] == 'import-all':  # every class the package registers anywhere
        for module in pkgutil.walk_packages(rmt_mm.__path__, 'rmt_mm.'):
            importlib.import_module(module.name)
        print(json.dumps({name: sorted(r.module_dict) for name, r in registries.items()}))
    else:  # a fresh process: only the registries' locations import the modules
        wanted = json.loads(sys.argv[2])
        print(json.dumps({name: [n for n in names if registries[name].get(n) is None]
                          for name, names in wanted.items()}))
''')


def test_registry_locations_find_every_registered_class():
    """Each registry is a child of mmengine's root under the scope rmt_mm, and its
    ``locations`` import every module that registers into it: a config names any of our
    classes without custom_imports."""
    import json

    from mmengine.registry import MODELS as ROOT

    from rmt_mm.registry import MODELS
    assert MODELS.scope == 'rmt_mm' and MODELS.parent is ROOT
    assert ROOT.children['rmt_mm'] is MODELS
    everything = run_python('-c', REGISTERED, 'import-all', timeout=300).stdout
    registered = json.loads(everything.strip().splitlines()[-1])
    assert {'RMT', 'RMTClsNeck', 'FiniteLossHook', 'CocoDataset'} <= \
        {n for names in registered.values() for n in names}
    missing = run_python('-c', REGISTERED, 'fresh', json.dumps(registered), timeout=300).stdout
    assert json.loads(missing.strip().splitlines()[-1]) == {name: [] for name in registered}
