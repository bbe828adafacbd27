"""The command-line conventions every tool shares, in one place: the spellings of mmdet's,
mmseg's and mmpretrain's tools for the same jobs (``--cfg-options``, ``--shape H W``,
``--device``, ``--out`` for a file, ``--output-dir`` for a folder) and outputs under
``work_dirs/`` unless told otherwise."""
import os
import os.path as osp

DEFAULT_OUT_ROOT = 'work_dirs'


def add_cfg_options(parser):
    """``--cfg-options key=value ...``: override config settings (mmengine's DictAction)."""
    from mmengine.config import DictAction
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. train_dataloader.batch_size=4 '
                        '"model.test_cfg.crop_size=(512,512)"')
    return parser


def add_shape_argument(parser, default=None, help='input height and width'):
    """``--shape H W``, as mmdet's and mmpretrain's get_flops."""
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'), default=default,
                        help=help)
    return parser


def add_device_argument(parser):
    """``--device``: where an inference or benchmark tool runs (``cuda``, ``cuda:1``, ``cpu``;
    default: the GPU when torch sees one). Training and testing take
    :func:`rmt_mm.apis.runner.add_common_args`' stricter choice."""
    import torch
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu',
                        help='cuda, cuda:N or cpu (default: cuda when available)')
    return parser


def add_out_argument(parser, default=None, help='output file'):
    """``--out FILE``: where a tool writes its result file."""
    parser.add_argument('--out', default=default, help=help + (
        f' (default: {default})' if default else ''))
    return parser


def add_output_dir_argument(parser, default, help='output folder'):
    """``--output-dir DIR``: where a tool writes its pictures (mmdet's browse_dataset)."""
    parser.add_argument('--output-dir', default=default, help=f'{help} (default: {default})')
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
