"""What the tests share besides fixtures: paths, the tiny arch, the generated classes, log
readers and the one way tests run a tool or a Python snippet in a fresh interpreter."""
import importlib.util
import os.path as osp
import subprocess
import sys

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
    """Every row mmengine logged to ``work_dir/*/vis_data/scalars.json`` (the tools' reader)."""
    from rmt_mm.utils.logs import read_scalars
    return read_scalars(work_dir)


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


SHAPE_CLASSES = ('disk', 'square', 'triangle')


def run_python(*args, cwd=REPO, timeout=900, env=None, check=True):
    """``python ARGS`` in a fresh interpreter (a tool path or ``-c CODE``); with ``check`` the
    exit status must be 0, and the failure shows the end of both streams."""
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd,
                            timeout=timeout, env=env)
    if check:
        assert result.returncode == 0, (f'exit {result.returncode}: python '
                                        f'{" ".join(map(str, args))[:300]}\n'
                                        f'{result.stdout[-3000:]}\n{result.stderr[-3000:]}')
    return result


def load_tool(path: str):
    """A tool script (``tools/...py``, relative to the repo) as a module, to call its functions."""
    spec = importlib.util.spec_from_file_location(
        osp.splitext(osp.basename(path))[0], osp.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def printed_metrics(stdout: str) -> dict:
    """The numbers of the metrics dict tools/test.py prints last (``metrics of CKPT: {...}``;
    numpy scalars print as ``np.float64(x)``)."""
    import re
    line = [row for row in stdout.splitlines() if row.startswith('metrics of ')][-1]
    number = r"(?:np\.\w+\()?(-?[0-9.]+(?:e-?[0-9]+)?)"
    return {key: float(value) for key, value in re.findall(rf"'([^']+)': {number}", line)}


def readme_blocks(readme: str, language: str) -> list[str]:
    """The ``language`` code blocks of a README (path relative to the repo), as a user copies
    them."""
    import re
    with open(osp.join(REPO, readme)) as f:
        return re.findall(rf'```{language}\n(.*?)```', f.read(), flags=re.S)
