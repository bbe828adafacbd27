"""The runner layer: config preparation shared by the tools for all three tasks."""
import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.logging import print_log

from rmt_mm.utils.tasks import TASKS

from .checks import (
    check_checkpoint_path,
    check_class_order,
    check_data_paths,
    check_model_channels,
    check_num_classes,
    evaluators_follow_datasets,
)

SCOPES = tuple(TASKS)  # the libraries a config's default_scope may name


def _dicts_of_type(node, wanted: str, where: str):
    """(config path, dict) of every dict with ``type=wanted`` in a nested config."""
    if isinstance(node, dict):
        if node.get('type') == wanted:
            yield where, node
        for key, value in node.items():
            yield from _dicts_of_type(value, wanted, f'{where}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _dicts_of_type(value, wanted, f'{where}[{i}]')


def gpu_requirements(cfg: Config) -> list[str]:
    """What in a config needs a GPU, each naming its config field."""
    syncbn = [where for where, _ in _dicts_of_type(cfg.get('model', {}), 'SyncBN', 'model')]
    needs = [f'SyncBN ({syncbn[0]}' + (f' and {len(syncbn) - 1} more' if len(syncbn) > 1 else '')
             + ')'] if syncbn else []
    if cfg.get('sync_bn'):
        needs.append(f'sync_bn={cfg.sync_bn!r}')
    wrapper = cfg.get('optim_wrapper')
    if isinstance(wrapper, dict) and wrapper.get('type') == 'AmpOptimWrapper':
        needs.append('mixed precision (optim_wrapper.type=AmpOptimWrapper)')
    needs += [f'fp16 evaluation ({name}.fp16=True)' for name in ('val_cfg', 'test_cfg')
              if isinstance(cfg.get(name), dict) and cfg[name].get('fp16')]
    dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg')
    if cfg.get('launcher', 'none') != 'none' and isinstance(dist_cfg, dict) and \
            dist_cfg.get('backend') == 'nccl':
        needs.append('distributed training over NCCL (env_cfg.dist_cfg.backend=nccl)')
    return needs


def adapt_to_cpu(cfg: Config) -> Config:
    """Make a GPU config run on the CPU (``--device cpu``), saying what changed.

    - SyncBN needs GPUs: it becomes BN (the statistics are then per process), and the
      runner's ``sync_bn`` conversion is dropped.
    - ``AmpOptimWrapper`` is GPU-only in mmengine: it becomes ``OptimWrapper`` (fp32), and
      validation and test loops asked to run under fp16 autocast run in fp32.
    - NCCL needs GPUs: distributed runs use gloo, with DDP over CPU modules (no device_ids).
    """
    changed = []
    if cfg.get('launcher', 'none') != 'none':
        wrapper_cfg = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
        wrapper_cfg.setdefault('broadcast_buffers', False)
        wrapper_cfg.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
        wrapper_cfg['device_ids'] = None
        cfg.model_wrapper_cfg = wrapper_cfg
    syncbn = [node for _, node in _dicts_of_type(cfg.get('model', {}), 'SyncBN', 'model')]
    for node in syncbn:
        node['type'] = 'BN'
    sync_bn = cfg.pop('sync_bn', None)  # dropped even beside SyncBN layers
    if syncbn or sync_bn:
        changed.append('SyncBN -> BN')
    wrapper = cfg.get('optim_wrapper')
    if isinstance(wrapper, dict) and wrapper.get('type') == 'AmpOptimWrapper':
        wrapper['type'] = 'OptimWrapper'
        wrapper.pop('loss_scale', None)
        changed.append('AmpOptimWrapper -> OptimWrapper (fp32)')
    elif isinstance(wrapper, dict) and wrapper.get('type') == 'OptimWrapper' and \
            wrapper.pop('loss_scale', None) is not None:
        changed.append('loss_scale dropped (OptimWrapper is fp32)')
    fp16_loops = [name for name in ('val_cfg', 'test_cfg')
                  if isinstance(cfg.get(name), dict) and cfg[name].get('fp16')]
    for name in fp16_loops:
        cfg[name]['fp16'] = False
    if fp16_loops:
        changed.append(f'fp16 {" and ".join(n[:-4] for n in fp16_loops)} -> fp32')
    dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg')
    if isinstance(dist_cfg, dict) and dist_cfg.get('backend') == 'nccl':
        dist_cfg['backend'] = 'gloo'
        changed.append('nccl -> gloo')
    if changed:
        print_log(f'--device cpu: {", ".join(changed)}', logger='current')
    return cfg


DEVICES = ('cuda', 'cpu')


def prepare_device(cfg: Config, device: str | None = None) -> Config:
    """Run on the device the user chose, never silently on another.

    ``device='cpu'``: the config is adapted to the CPU (:func:`adapt_to_cpu`) and CUDA is
    hidden from this process. ``'cuda'``: CUDA must be visible. ``None`` (the tools' default):
    CUDA when visible; without it, a config that needs a GPU (:func:`gpu_requirements`) is an
    error naming what needs it and how to run on the CPU instead, and any other config runs on
    the CPU as mmengine does.
    """
    if device not in (None, *DEVICES):
        raise ValueError(f'device must be one of {DEVICES} or None, got {device!r}')
    if device == 'cpu':
        # Before CUDA is initialised, this keeps mmengine from placing the model on a GPU
        # (the tools set it already while parsing --device).
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
        if torch.cuda.is_available():
            raise RuntimeError('--device cpu: CUDA was initialised in this process before the '
                               'device was chosen, so the model would still go to a GPU; '
                               'start it with CUDA_VISIBLE_DEVICES= instead')
        return adapt_to_cpu(cfg)
    if torch.cuda.is_available():
        return cfg
    needs = [] if device is None else ['--device cuda']
    needs += gpu_requirements(cfg)
    if needs:
        raise RuntimeError(
            f'CUDA is not available (torch {torch.__version__}, '
            f'{"built for CUDA " + torch.version.cuda if torch.version.cuda else "a CPU build"}'
            f'; check the driver with nvidia-smi), and this run needs a GPU for: '
            f'{"; ".join(needs)}. To run it on the CPU instead, pass --device cpu (SyncBN '
            f'becomes BN, mixed precision fp32, NCCL gloo).')
    return cfg


class _DeviceChoice(argparse.Action):
    """``--device``; ``cpu`` hides CUDA from the process at once, before anything (a config's
    imports included) can initialise it."""

    def __call__(self, parser, namespace, value, option_string=None):
        if value == 'cpu':
            os.environ['CUDA_VISIBLE_DEVICES'] = ''
        setattr(namespace, self.dest, value)


def add_common_args(parser):
    """The arguments tools/train.py and tools/test.py share."""
    from .cli import add_cfg_options
    parser.add_argument('--work-dir', help='the dir to save logs, checkpoints and metrics')
    add_cfg_options(parser)
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--device', choices=DEVICES, action=_DeviceChoice,
                        help='cpu: run on the CPU, adapting what needs a GPU (SyncBN -> BN, '
                        'AMP -> fp32, nccl -> gloo); default: the GPU, or the CPU for a config '
                        'that needs no GPU')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser


def setup_config(args) -> Config:
    """Load ``args.config`` with the common arguments applied (see :func:`add_common_args`)."""
    import rmt_mm  # noqa: F401  (registries, weights_only-safe checkpoints, config scope)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = work_dir_for(cfg, args.config, args.work_dir)
    return cfg


def init_cpu_process_group(cfg: Config):
    """Join the gloo process group of a CPU job started by torchrun.

    mmengine's pytorch launcher calls ``torch.cuda.set_device`` first, which fails without a
    GPU; the runner skips its own initialisation when a group already exists.
    """
    import torch.distributed as dist
    if cfg.get('launcher', 'none') == 'pytorch' and not torch.cuda.is_available() \
            and not dist.is_initialized():
        dist.init_process_group(backend='gloo')


def close_process_group():
    """Leave the process group once every rank is done.

    A rank whose interpreter exits with the group still alive destroys gloo's worker threads
    during shutdown while a slower rank may still talk to it; that can abort the process after
    a finished run ("terminate called without an active exception"). The barrier lets every
    rank finish first; the explicit destroy ends the group's threads before exit.
    """
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def build_runner(cfg: Config, mode: str = 'train', device: str | None = None):
    """Check the config for ``mode`` ('train' or 'test'): the model's channels and class
    counts, the data paths and class names (:mod:`rmt_mm.apis.checks`); point the evaluators
    at their datasets' files; prepare it for ``device`` (:func:`prepare_device`) and build its
    runner."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    prepare_device(cfg, device)
    check_model_channels(cfg.model)
    check_num_classes(cfg, 'train_dataloader' if mode == 'train' else 'test_dataloader')
    loaders = ('test_dataloader', ) if mode == 'test' else \
        ('train_dataloader', 'val_dataloader') if cfg.get('val_cfg') else ('train_dataloader', )
    check_data_paths(cfg, loaders)
    check_class_order(cfg, loaders)
    evaluators_follow_datasets(cfg)
    init_cpu_process_group(cfg)
    return RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)


def build_model(config: str, cfg_options=None, checkpoint=None):
    """(config, model) of a config file in its own scope, eval mode, SyncBN reverted to BN;
    ``checkpoint`` loads weights (the backbone's own pretrained init is skipped then)."""
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import MODELS, init_default_scope
    from mmengine.runner import load_checkpoint
    cfg = load_config(config, cfg_options)
    init_default_scope(cfg.default_scope)
    if checkpoint:
        check_checkpoint_path(checkpoint, 'checkpoint')
        cfg.model.backbone.init_cfg = None
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    if checkpoint:
        load_checkpoint(model, checkpoint, map_location='cpu')
    return cfg, model.eval()


def load_config(path: str, cfg_options=None) -> Config:
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path} does not exist')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if cfg.get('default_scope') not in SCOPES:
        raise ValueError(f'{path}: default_scope must be one of {SCOPES} (it decides which '
                         f'library runs the config), got {cfg.get("default_scope")!r}')
    return cfg


def work_dir_for(cfg: Config, config_path: str, work_dir=None) -> str:
    if work_dir is not None:
        return work_dir
    if cfg.get('work_dir'):
        return cfg.work_dir
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


__all__ = ['add_common_args', 'adapt_to_cpu', 'build_model', 'build_runner',
           'close_process_group', 'gpu_requirements', 'init_cpu_process_group', 'load_config',
           'prepare_device', 'setup_config', 'work_dir_for']
