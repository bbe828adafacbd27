"""The package's layers: lower layers never import higher ones (README, "Layout")."""
import ast
import glob
import os.path as osp
import re

from helpers import REPO, run_python

# rmt_mm.<package or top-level module> -> its layer; a module may import rmt_mm modules of its
# layer or below. registry/version sit below everything; compat (applied by the package's
# __init__) registers the atomic file backend of utils; the package root and
# ``python -m rmt_mm`` are on top.
LAYERS = {'registry': 0, 'version': 0, 'utils': 1, 'models': 2, 'datasets': 2, 'engine': 3,
          'compat': 3, 'apis': 4, 'deployment': 4, '__init__': 5, '__main__': 5}
MODULE_PATH = re.compile(r'rmt_mm(\.[a-z_]+)+')


def _layer_of(name: str):
    """The layer key of a dotted rmt_mm module path (``rmt_mm.models.x`` -> ``models``)."""
    parts = name.split('.')
    return parts[1] if len(parts) > 1 else '__init__'


def rmt_imports(path):
    """The rmt_mm layers a module imports: import statements (absolute and relative) and
    module paths written as strings (``importlib.import_module('rmt_mm.x')``, config
    ``custom_imports``), except the registries' ``locations``, which name the modules that
    fill them and are imported only when a registry is searched."""
    module = osp.relpath(path, REPO)[:-3].replace(osp.sep, '.')
    package = module.split('.') if path.endswith('__init__.py') else module.split('.')[:-1]
    if path.endswith('__init__.py'):
        package = package[:-1]
    tree = ast.parse(open(path).read())
    location_strings = {id(elt) for node in ast.walk(tree) if isinstance(node, ast.keyword)
                        and node.arg == 'locations' and isinstance(node.value, ast.List)
                        for elt in node.value.elts}
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                name = '.'.join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ''
            names = [name] if node.module else [f'{name}.{alias.name}' for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                MODULE_PATH.fullmatch(node.value) and id(node) not in location_strings:
            names = [node.value]
        else:
            continue
        found |= {_layer_of(n) for n in names if n.startswith('rmt_mm.') and
                  _layer_of(n) in LAYERS}
    return found


def test_lower_layers_never_import_higher_ones():
    modules = glob.glob(osp.join(REPO, 'rmt_mm', '**', '*.py'), recursive=True)
    assert any(osp.basename(p) == 'compat.py' for p in modules)  # top-level modules too
    violations = []
    for path in modules:
        rel = osp.relpath(path, osp.join(REPO, 'rmt_mm')).split(osp.sep)
        own = rel[0][:-3] if len(rel) == 1 else rel[0]
        assert own in LAYERS, f'rmt_mm/{"/".join(rel)} has no layer in LAYERS'
        for imported in rmt_imports(path):
            if LAYERS[imported] > LAYERS[own]:
                violations.append(f'rmt_mm/{"/".join(rel)} imports rmt_mm.{imported}')
    assert violations == []


def test_the_checker_sees_relative_and_string_imports(tmp_path):
    """The checker itself: a lower layer importing a higher one in each way is caught."""
    import os
    folder = tmp_path / 'rmt_mm' / 'models'
    os.makedirs(folder)
    cases = {'relative': 'from ..apis import runner\n',
             'string': "import importlib\nimportlib.import_module('rmt_mm.engine.hooks')\n",
             'absolute': 'import rmt_mm.apis.runner\n'}
    global REPO
    saved, REPO = REPO, str(tmp_path)
    try:
        for kind, code in cases.items():
            (folder / f'{kind}.py').write_text(code)
            assert rmt_imports(str(folder / f'{kind}.py')) == (
                {'engine'} if kind == 'string' else {'apis'}), kind
    finally:
        REPO = saved


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
