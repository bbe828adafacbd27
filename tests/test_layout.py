"""The package's layers: lower layers never import higher ones; old paths keep working."""
import ast
import glob
import os.path as osp

from helpers import REPO, run_python

# rmt_mm.<package> -> its layer; a module may import rmt_mm modules of its layer or below.
# registry/version sit below everything; compat is applied by the package's __init__ and
# imports what it patches in.
LAYERS = {'registry': 0, 'version': 0, 'utils': 1, 'models': 2, 'datasets': 2, 'engine': 3,
          'apis': 4}


def rmt_imports(path):
    """The rmt_mm packages a module imports (absolute and relative imports)."""
    module = osp.relpath(path, REPO)[:-3].replace(osp.sep, '.')
    package = module.split('.')
    found = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level]
                name = '.'.join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ''
            names = [name] if node.module or not node.level else \
                [f'{name}.{alias.name}' for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found |= {n.split('.')[1] for n in names if n.startswith('rmt_mm.') and
                  len(n.split('.')) > 1}
    return found


def test_lower_layers_never_import_higher_ones():
    violations = []
    for path in glob.glob(osp.join(REPO, 'rmt_mm', '*', '**', '*.py'), recursive=True):
        own = osp.relpath(path, osp.join(REPO, 'rmt_mm')).split(osp.sep)[0]
        for imported in rmt_imports(path):
            if imported in LAYERS and LAYERS[imported] > LAYERS[own]:
                violations.append(f'{osp.relpath(path, REPO)} imports rmt_mm.{imported}')
    assert violations == []


def test_backbone_imports_without_mmpretrain():
    """A backbone-only environment (torch, mmengine, mmcv-lite) imports and builds the backbone;
    the token-labeling classifier, which builds on mmpretrain, is simply not registered."""
    code = '\n'.join([
        'import importlib.util, sys',
        'find_spec = importlib.util.find_spec',
        "importlib.util.find_spec = lambda name, *a: None if name.split('.')[0] == "
        "'mmpretrain' else find_spec(name, *a)",
        "sys.modules['mmpretrain'] = None  # import mmpretrain now fails",
        'import torch, rmt_mm, rmt_mm.models as models',
        'from rmt_mm.registry import MODELS',
        "print(sorted(models.__all__), MODELS.get('TokenLabelClassifier'))",
        "print(models.RMT(arch='t')(torch.zeros(1, 3, 64, 64))[-1].shape)",
    ])
    result = run_python('-c', code, timeout=300)
    assert result.stdout.split('\n')[:2] == ["['RMT', 'RMTClsNeck'] None",
                                             'torch.Size([1, 512, 2, 2])']
