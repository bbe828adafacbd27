"""Run a tool of mmdet, mmseg or mmpretrain with rmt_mm imported first.

    python -m rmt_mm LIBRARY TOOL [tool arguments]
    python -m rmt_mm mmdet train my_project/mask_rcnn_rmt.py --work-dir work_dirs/x
    python -m rmt_mm mmseg test my_project/upernet_rmt.py CKPT
    python -m rmt_mm mmpretrain misc/print_config my_project/rmt_cls.py

The libraries' own tools parse their config before its ``custom_imports`` run, so a config
that inherits ours by scope (``_base_ = ['rmt_mm::...']``) fails there with "mmengine does
not support to load rmt_mm config". This runs ``<library>/.mim/tools/<TOOL>.py`` (the tools
each library ships in its package) as ``__main__`` after ``import rmt_mm``.
"""
import os.path as osp
import runpy
import sys

from rmt_mm.utils.tasks import TASKS

LIBRARIES = tuple(TASKS)  # the libraries whose tools it runs


def tool_path(library: str, tool: str) -> str:
    import importlib
    if library not in LIBRARIES:
        raise SystemExit(f'python -m rmt_mm: LIBRARY must be one of {LIBRARIES}, got '
                         f'{library!r}')
    root = osp.dirname(importlib.import_module(library).__file__)
    path = osp.join(root, '.mim', 'tools', tool if tool.endswith('.py') else tool + '.py')
    if not osp.isfile(path):
        raise SystemExit(f'python -m rmt_mm: {library} ships no tool {tool!r} ({path} does not '
                         f'exist); e.g. train, test, misc/print_config')
    return path


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2 or argv[0] in ('-h', '--help'):
        raise SystemExit(__doc__)
    path = tool_path(argv[0], argv[1])
    import rmt_mm  # noqa: F401  (the rmt_mm:: config scope and registries)
    sys.argv = [path] + argv[2:]
    runpy.run_path(path, run_name='__main__')


if __name__ == '__main__':
    main()
