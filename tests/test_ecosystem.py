"""rmt_mm through OpenMMLab's own entry points: configs inherited by scope in a downstream
project (``_base_ = 'rmt_mm::...'``)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from helpers import REPO, SHAPE_CLASSES, read_scalars, readme_blocks, run_python
from task_configs import run_training, tiny_cls_config, tiny_det_config, tiny_seg_config

LEAVES = sorted(osp.relpath(p, osp.join(REPO, 'configs'))
                for task in ('cls', 'det', 'seg')
                for p in glob.glob(osp.join(REPO, 'configs', task, '*.py')))


def library_types():
    """type name -> the library scopes (mmdet, mmseg, mmpretrain) that register it."""
    import importlib

    from mmengine.registry import Registry
    found = {}
    for lib in ('mmdet', 'mmseg', 'mmpretrain'):
        registry = importlib.import_module(f'{lib}.registry')
        for sub in ('models', 'datasets', 'engine', 'evaluation', 'visualization'):
            importlib.import_module(f'{lib}.{sub}')
        for value in vars(registry).values():
            if isinstance(value, Registry) and value.scope == lib:
                for name in value.module_dict:
                    found.setdefault(name, set()).add(lib)
    return found


def unresolvable(node, where, types, out):
    """Dicts that mmengine gives the scope rmt_mm (written in our files) whose unqualified
    type is a library's: looked up in rmt_mm's registries, they are not found, or mmcv's
    generic transform is found instead of the library's own."""
    if isinstance(node, dict):
        kind = node.get('type')
        if node.get('_scope_') == 'rmt_mm' and isinstance(kind, str) and '.' not in kind \
                and kind in types:
            out.append(f'{where}: {kind} (register of {sorted(types[kind])})')
        for key, value in node.items():
            unresolvable(value, f'{where}.{key}', types, out)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            unresolvable(value, f'{where}[{i}]', types, out)
    return out


def downstream(tmp_path, leaf, extra=''):
    path = tmp_path / 'downstream.py'
    path.write_text(f"_base_ = ['rmt_mm::{leaf}']\n{extra}")
    return str(path)


def test_every_config_builds_by_scope_in_a_downstream_project(tmp_path):
    import rmt_mm  # noqa: F401  (the rmt_mm:: config scope)
    types = library_types()
    problems = []
    for leaf in LEAVES:
        cfg = Config.fromfile(downstream(tmp_path, leaf))
        problems += unresolvable(cfg._cfg_dict.to_dict(), leaf, types, [])
    assert problems == []


@pytest.mark.slow
@pytest.mark.parametrize('task', ['cls', 'det', 'seg'])
def test_downstream_config_trains(task, request, tmp_path):
    """A project config inheriting ours by scope builds its Runner and trains."""
    import rmt_mm  # noqa: F401
    work_dir = str(tmp_path / 'work')
    if task == 'cls':
        from rmt_mm.datasets import make_classification_set
        data = make_classification_set(str(tmp_path / 'data'), num_classes=4, per_class=4)
        cfg = tiny_cls_config(data, max_epochs=1, base='rmt_mm::cls/rmt_t_in1k.py')
        cfg.work_dir, metric = work_dir, 'raw_or_ema/accuracy/top1'
    elif task == 'det':
        cfg = tiny_det_config(downstream(tmp_path, 'det/mask_rcnn_rmt_s_fpn_ms_3x_coco.py'),
                              request.getfixturevalue('coco_root'), SHAPE_CLASSES, work_dir,
                              max_epochs=1)
        metric = 'coco/segm_mAP'
    else:
        cfg = tiny_seg_config(downstream(tmp_path, 'seg/fpn_rmt_t_80k_ade20k_512x512.py'),
                              request.getfixturevalue('ade_root'), work_dir, max_iters=2)
        metric = 'mIoU'
    run_training(cfg, tmp_path, 'ours')
    scalars = read_scalars(work_dir)
    assert [r for r in scalars if 'loss' in r] and any(metric in r for r in scalars)


@pytest.mark.parametrize('library, leaf', [('mmdet', 'det/retinanet_rmt_t_fpn_1x_coco.py'),
                                           ('mmseg', 'seg/upernet_rmt_s_160k_ade20k_512x512.py'),
                                           ('mmpretrain', 'cls/rmt_s_token_label_in1k.py')])
def test_library_tools_read_scoped_configs_through_the_launcher(library, leaf, tmp_path):
    import subprocess
    import sys
    config = downstream(tmp_path, leaf, 'work_dir = "work_dirs/mine"\n')
    plain = subprocess.run([sys.executable, osp.join(
        osp.dirname(__import__(library).__file__), '.mim', 'tools', 'misc', 'print_config.py'),
        config], capture_output=True, text=True, cwd=str(tmp_path))
    assert plain.returncode != 0 and 'does not support to load rmt_mm config' in plain.stderr
    launched = subprocess.run([sys.executable, '-m', 'rmt_mm', library, 'misc/print_config',
                               config], capture_output=True, text=True, cwd=str(tmp_path))
    assert launched.returncode == 0, launched.stderr[-2000:]
    assert "'rmt_mm.RMT'" in launched.stdout and "work_dir = 'work_dirs/mine'" in launched.stdout


WHEEL_CHECK = '''
import os.path as osp, sys, tempfile
import torch
import rmt_mm
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import MODELS, init_default_scope
assert rmt_mm.__file__.startswith(sys.argv[1]), rmt_mm.__file__
mim = osp.join(osp.dirname(rmt_mm.__file__), '.mim')
assert not osp.islink(osp.join(mim, 'configs'))
for leaf in ('det/mask_rcnn_rmt_t_fpn_1x_coco.py', 'seg/fpn_rmt_t_80k_ade20k_512x512.py',
             'cls/rmt_t_in1k.py'):
    path = osp.join(tempfile.mkdtemp(), 'downstream.py')
    with open(path, 'w') as f:
        f.write(f"_base_ = ['rmt_mm::{leaf}']\\n")
    cfg = Config.fromfile(path)
    init_default_scope(cfg.default_scope)
    cfg.model.backbone.init_cfg = None
    model = revert_sync_batchnorm(MODELS.build(cfg.model)).eval()
    with torch.no_grad():
        feats = model.extract_feat(torch.zeros(1, 3, 64, 64))
    print(leaf, type(model.backbone).__name__, len(feats))
from mmpretrain import list_models
print('hub', sorted(list_models('rmt_*')))
print('tools', sorted(t for t in ('train.py', 'test.py', 'dist_train.sh', 'setup_env.sh')
                      if osp.isfile(osp.join(mim, 'tools', t))))
'''


@pytest.mark.slow
def test_regular_install_of_a_wheel_serves_the_configs(rmt_wheel, tmp_path):
    """A wheel built from a copy of the checkout, installed for real (not editable), run
    from a project folder outside the clone: the package carries the configs (files, not
    links), downstream configs of the three tasks inherit them and their models run, the
    ImageNet models are in mmpretrain's model hub and the tools are there."""
    import os
    import subprocess
    import sys
    target = tmp_path / 'site'
    installed = subprocess.run([sys.executable, '-m', 'pip', '--disable-pip-version-check', '-q',
                                'install', '--no-deps', '--target', str(target), rmt_wheel],
                               capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-2000:]
    env = dict(os.environ, PYTHONPATH=str(target))
    run = subprocess.run([sys.executable, '-c', WHEEL_CHECK, str(target)], capture_output=True,
                         text=True, env=env, cwd=str(tmp_path), timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert [line for line in run.stdout.splitlines() if ' - mmengine - ' not in line] == [
        'det/mask_rcnn_rmt_t_fpn_1x_coco.py RMT 5', 'seg/fpn_rmt_t_80k_ade20k_512x512.py RMT 4',
        'cls/rmt_t_in1k.py RMT 1',
        "hub ['rmt_b_in1k', 'rmt_b_token_label_in1k', 'rmt_l_in1k', 'rmt_l_token_label_in1k', "
        "'rmt_s_in1k', 'rmt_s_in1k_384px', 'rmt_s_token_label_in1k', 'rmt_t_in1k']",
        "tools ['dist_train.sh', 'setup_env.sh', 'test.py', 'train.py']"]


INFERENCE = '''
import sys, warnings
import numpy as np
warnings.filterwarnings('ignore')
task, config = sys.argv[1], sys.argv[2]
image = np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)
if task == 'det':
    from mmdet.apis import DetInferencer
    out = DetInferencer(model=config, weights=None, device='cpu')(image, return_vis=False)
    print(sorted(out['predictions'][0]))
elif task == 'seg':
    from mmseg.apis import MMSegInferencer
    seg = MMSegInferencer(model=config, weights=None, device='cpu')
    print(list(seg(image)['predictions'].shape))
else:
    from mmpretrain.apis import ImageClassificationInferencer
    cls = ImageClassificationInferencer(model=config, pretrained=False, device='cpu')
    print(sorted(cls(image)[0]))
'''


@pytest.mark.slow
@pytest.mark.parametrize('task, config, expected', [
    ('det', 'det/mask_rcnn_rmt_t_fpn_1x_coco.py', "['bboxes', 'labels', 'masks', 'scores']"),
    ('seg', 'seg/fpn_rmt_t_80k_ade20k_512x512.py', '[96, 128]'),
    ('cls', 'cls/rmt_t_in1k.py', "['pred_class', 'pred_label', 'pred_score', 'pred_scores']"),
])
def test_library_inferencers_run_our_configs_without_importing_rmt_mm(task, config, expected):
    """A fresh interpreter that never imports rmt_mm itself: the configs' custom_imports do."""
    run = run_python('-c', INFERENCE, task, osp.join(REPO, 'configs', config), timeout=600)
    assert run.stdout.strip().splitlines()[-1].endswith(expected)  # after a progress bar


def test_checkpoint_paths_follow_one_scheme_and_one_override_moves_them(tmp_path):
    """Every dense config reads checkpoints/rmt_<arch>_in1k.pth (README, "Where the official
    weights are"); the README's one-line override in a downstream config points it elsewhere."""
    import rmt_mm  # noqa: F401  (rmt_mm:: bases)
    for path in glob.glob(osp.join(REPO, 'configs', '[ds]e[tg]', '*.py')):
        backbone = Config.fromfile(path).model.backbone
        assert backbone.init_cfg == dict(
            type='Pretrained', checkpoint=f'checkpoints/rmt_{backbone.arch}_in1k.pth'), path
    [block] = [b for b in readme_blocks('README.md', 'python') if '/data/weights/RMT-S.pth' in b]
    (tmp_path / 'mine.py').write_text(block)
    cfg = Config.fromfile(str(tmp_path / 'mine.py'))
    assert cfg.model.backbone.init_cfg == dict(type='Pretrained',
                                               checkpoint='/data/weights/RMT-S.pth')
    assert cfg.model.backbone.arch == 's'


def test_task_readmes_give_the_same_official_files_as_the_readme():
    """The weights tables of configs/{cls,det,seg}/README.md name the same official files
    and codes as the top-level README's, and every variant they list has configs here."""
    import re
    pattern = r'\| (RMT-[TSBL]\\?\*?) \(`(\w{4})`\) \|'

    def files(path):
        return dict(re.findall(pattern, open(osp.join(REPO, path)).read()))

    everything = files('README.md')
    assert len(everything) == 7, everything
    for task in ('cls', 'det', 'seg'):
        listed = files(f'configs/{task}/README.md')
        assert listed and all(everything[k] == v for k, v in listed.items()), (task, listed)
        for name in listed:
            variant = name[4].lower()
            assert glob.glob(osp.join(REPO, 'configs', task, f'*rmt_{variant}_*.py')), name
