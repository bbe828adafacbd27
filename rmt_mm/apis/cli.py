"""Command-line conventions shared by the tools: one name for the input size, outputs under
``work_dirs/`` unless told otherwise."""
import argparse
import os
import os.path as osp
import warnings

DEFAULT_OUT_ROOT = 'work_dirs'


class _RenamedOption(argparse.Action):
    """An old spelling of an option: same value, with a message naming the new one."""

    def __init__(self, *args, new_name: str, **kwargs):
        self.new_name = new_name
        super().__init__(*args, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        warnings.warn(f'{parser.prog}: {option_string} is renamed {self.new_name}; the old '
                      f'name will be removed in the next release', FutureWarning, stacklevel=2)
        setattr(namespace, self.dest, values)


def add_shape_argument(parser, default=None, help='input height and width',
                       old_names=()):
    """``--shape H W`` (the spelling of mmdet's and mmpretrain's tools); ``old_names`` are
    earlier spellings of this project's tools, still accepted with a message."""
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'), default=default,
                        help=help)
    for old in old_names:
        parser.add_argument(old, type=int, nargs=2, dest='shape', action=_RenamedOption,
                            new_name='--shape', help=argparse.SUPPRESS)
    return parser


def default_output(*parts: str) -> str:
    """The default place of a tool's output: ``work_dirs/<parts>``."""
    return osp.join(DEFAULT_OUT_ROOT, *parts)


def prepare_output(path: str) -> str:
    """Create the folder a file will be written into; returns the path."""
    folder = osp.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    return path
