"""The command-line conventions every tool shares, in one place: the spellings of mmdet's,
mmseg's and mmpretrain's tools for the same jobs (``--cfg-options``, ``--shape H W``,
``--device``, ``--out`` for a file, ``--output-dir`` for a folder) and outputs under
``work_dirs/`` unless told otherwise."""
import argparse
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


class DeviceAction(argparse.Action):
    """``--device cpu|cuda|cuda:N``, acted on while parsing, before anything (a config's imports
    included) can initialise CUDA: ``cpu`` hides CUDA from the process; ``cuda:N`` leaves only
    GPU N visible (N counts the GPUs visible before) and becomes ``cuda``."""

    def __call__(self, parser, namespace, value, option_string=None):
        if value == 'cpu':
            os.environ['CUDA_VISIBLE_DEVICES'] = ''
        elif value.startswith('cuda:') and value[5:].isdigit():
            visible = os.environ.get('CUDA_VISIBLE_DEVICES')
            index = int(value[5:])
            ids = [i for i in visible.split(',') if i] if visible else None
            if ids is not None and index >= len(ids):
                parser.error(f'--device {value}: only {len(ids)} GPUs are visible '
                             f'(CUDA_VISIBLE_DEVICES={visible})')
            os.environ['CUDA_VISIBLE_DEVICES'] = ids[index] if ids is not None else str(index)
            value = 'cuda'
        elif value != 'cuda':
            parser.error(f'--device {value!r}: cpu, cuda or cuda:N')
        setattr(namespace, self.dest, value)


def add_device_argument(parser, default=None):
    """``--device``: where the tool runs, with one meaning in every tool (:class:`DeviceAction`).
    Default None: the GPU when torch sees one, else the CPU (:func:`resolve_device`); training
    and testing then refuse a config that needs a GPU on a machine without one
    (:func:`rmt_mm.apis.device.prepare_device`)."""
    parser.add_argument('--device', default=default, action=DeviceAction,
                        help='cpu, cuda or cuda:N (only GPU N visible); cpu adapts a GPU '
                        'config to the CPU (SyncBN -> BN, AMP -> fp32, nccl -> gloo) '
                        f'(default: {default or "the GPU when there is one, else the CPU"})')
    return parser


def resolve_device(device: str | None) -> str:
    """``'cpu'`` or ``'cuda'``: the parsed ``--device``, or where the default runs."""
    if device is not None:
        return device
    import torch
    return 'cuda' if torch.cuda.is_available() else 'cpu'


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


def add_common_args(parser):
    """The arguments tools/train.py and tools/test.py share."""
    parser.add_argument('--work-dir', help='the dir to save logs, checkpoints and metrics')
    add_cfg_options(parser)
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    add_device_argument(parser)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser


def setup_config(args):
    """The Config of ``args.config`` with the common arguments applied (see
    :func:`add_common_args`)."""
    import rmt_mm  # noqa: F401  (registries, weights_only-safe checkpoints, config scope)

    from .runner import load_config, work_dir_for
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = work_dir_for(cfg, args.config, args.work_dir)
    return cfg
