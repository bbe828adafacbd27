"""rmt_mm's version, and the versions of Python, torch and the OpenMMLab packages it is tested
with (docs/compatibility.md), which ``import rmt_mm`` checks, as mmdet checks mmcv's.

rmt_mm's install requirements leave torch and the OpenMMLab packages to the user's environment
(pip never replaces them); this is where a version outside the tested ranges is caught, with
the package, the version found, the range and what to do. A package that is not installed is
not checked: a backbone-only environment has no mmdet. ``RMT_MM_SKIP_VERSION_CHECK=1`` turns
the error into a warning, for trying an untested version at one's own risk.
"""
import os
import os.path as osp
import re
import sys

__version__ = '0.1.0'

# import name -> (first supported, first unsupported) major.minor, and the pip name to give.
SUPPORTED = {
    'torch': ((2, 1), (2, 16), 'torch'),
    'mmengine': ((0, 9), (0, 11), 'mmengine'),
    'mmcv': ((2, 1), (2, 2), 'mmcv'),
    'mmdet': ((3, 2), (3, 4), 'mmdet'),
    'mmseg': ((1, 2), (1, 3), 'mmsegmentation'),
    'mmpretrain': ((1, 1), (1, 3), 'mmpretrain'),
}
PYTHON = ((3, 10), (3, 13))
# Releases inside a range that cannot work, with the reason.
BROKEN = {
    ('mmseg', '1.2.0'): "its PyPI wheel lacks mmseg/utils/bpe_simple_vocab_16e6.txt.gz, so "
                        "mmseg.models fails to import (pip install \"mmsegmentation>=1.2.1,<1.3\")",
}
SKIP_CHECK = 'RMT_MM_SKIP_VERSION_CHECK'
_VERSION_LINE = re.compile(r"^__version__(?:: *str)? *= *['\"]([^'\"]+)['\"]", re.M)


class UnsupportedVersionError(ImportError):
    """A package of the environment is outside the versions rmt_mm is tested with."""


def installed_version(name: str):
    """The version of the installed package imported as ``name``, read from its
    ``version.py`` without importing it (forks with other distribution names included), or
    None when it is not installed."""
    import importlib.util
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = osp.join(folder, 'version.py')
        if osp.isfile(path):
            with open(path) as f:
                found = _VERSION_LINE.search(f.read())
            if found:
                return found.group(1)
    return None


def major_minor(version: str) -> tuple:
    """(major, minor) of a version string: '2.14.1+cu130' -> (2, 14)."""
    return tuple(int(part) for part in re.match(r'(\d+)\.(\d+)', version).groups())


def _span(low: tuple, high: tuple) -> str:
    last = (high[0], high[1] - 1) if high[1] else None
    if last == low:
        return f'{low[0]}.{low[1]}'
    return f'{low[0]}.{low[1]} to {last[0]}.{last[1]}' if last else \
        f'{low[0]}.{low[1]} up to (not including) {high[0]}.{high[1]}'


def unsupported(versions: dict | None = None, python: tuple | None = None) -> list[str]:
    """What is outside the tested ranges, one sentence each: ``versions`` maps import names to
    versions (default: the installed ones), ``python`` is (major, minor)."""
    python = python or sys.version_info[:2]
    found = []
    low, high = PYTHON
    if not low <= tuple(python) < high:
        found.append(f'Python {python[0]}.{python[1]}: rmt_mm {__version__} is tested with '
                     f'Python {_span(low, high)}; use one of those')
    versions = versions if versions is not None else {
        name: installed_version(name) for name in SUPPORTED}
    for name, version in versions.items():
        if version is None:
            continue
        low, high, pip_name = SUPPORTED[name]
        if (name, version) in BROKEN:
            found.append(f'{name} {version}: {BROKEN[name, version]}')
        elif not low <= major_minor(version) < high:
            found.append(
                f'{name} {version}: rmt_mm {__version__} is tested with {name} '
                f'{_span(low, high)}; install one of those (pip install '
                f'"{pip_name}>={low[0]}.{low[1]},<{high[0]}.{high[1]}"'
                + {'torch': ' and an mmcv built for it', 'mmcv': ' built for your torch'}.get(
                    name, '') + ('; README, "Use rmt_mm in your own environment"'
                                 if name in ('torch', 'mmcv') else '') + ')')
    return found


def check_stack():
    """Raise :class:`UnsupportedVersionError` naming every package outside the tested ranges
    (a warning instead with ``RMT_MM_SKIP_VERSION_CHECK=1``)."""
    problems = unsupported()
    if not problems:
        return
    message = ('; '.join(problems) + '. The tested combinations: docs/compatibility.md. To try '
               f'anyway, set {SKIP_CHECK}=1.')
    if os.environ.get(SKIP_CHECK) == '1':
        import warnings
        warnings.warn(f'{message} ({SKIP_CHECK}=1: going on)', stacklevel=3)
        return
    raise UnsupportedVersionError(message)
