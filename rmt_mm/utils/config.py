"""Config preparation shared by tools/train.py and tools/test.py for all three tasks."""
import os
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.logging import print_log

SCOPES = ('mmdet', 'mmseg', 'mmpretrain')


def _replace_types(node, old: str, new: str) -> int:
    """Replace ``type=old`` by ``type=new`` in every dict of a nested config; count them."""
    count = 0
    if isinstance(node, dict):
        if node.get('type') == old:
            node['type'] = new
            count += 1
        for value in node.values():
            count += _replace_types(value, old, new)
    elif isinstance(node, (list, tuple)):
        for value in node:
            count += _replace_types(value, old, new)
    return count


def adapt_to_device(cfg: Config) -> Config:
    """Make a GPU config run where there is no GPU, saying what changed.

    - SyncBN needs GPUs: it becomes BN (the statistics are then per process).
    - ``AmpOptimWrapper`` is GPU-only in mmengine: it becomes ``OptimWrapper`` (fp32).
    - NCCL needs GPUs: distributed runs use gloo, with DDP over CPU modules (no device_ids).
    """
    if torch.cuda.is_available():
        return cfg
    changed = []
    if cfg.get('launcher', 'none') != 'none':
        wrapper_cfg = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
        wrapper_cfg.setdefault('broadcast_buffers', False)
        wrapper_cfg.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
        wrapper_cfg['device_ids'] = None
        cfg.model_wrapper_cfg = wrapper_cfg
    if _replace_types(cfg.get('model', {}), 'SyncBN', 'BN'):
        changed.append('SyncBN -> BN')
    wrapper = cfg.get('optim_wrapper')
    if isinstance(wrapper, dict) and wrapper.get('type') == 'AmpOptimWrapper':
        wrapper['type'] = 'OptimWrapper'
        wrapper.pop('loss_scale', None)
        changed.append('AmpOptimWrapper -> OptimWrapper (fp32)')
    dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg')
    if isinstance(dist_cfg, dict) and dist_cfg.get('backend') == 'nccl':
        dist_cfg['backend'] = 'gloo'
        changed.append('nccl -> gloo')
    if changed:
        print_log(f'No GPU: {", ".join(changed)}', logger='current', level=30)
    return cfg


def check_checkpoint_path(path, field: str):
    """Fail before training starts when a local checkpoint path does not exist."""
    if path and '://' not in str(path) and not osp.isfile(path):
        raise FileNotFoundError(f'{field}: checkpoint {path} does not exist')


def add_common_args(parser):
    """The arguments tools/train.py and tools/test.py share."""
    from mmengine.config import DictAction
    parser.add_argument('--work-dir', help='the dir to save logs, checkpoints and metrics')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. train_dataloader.batch_size=4')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
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


def build_runner(cfg: Config):
    """Adapt the config to the machine and build its runner."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    adapt_to_device(cfg)
    init_cpu_process_group(cfg)
    return RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)


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


__all__ = ['add_common_args', 'adapt_to_device', 'build_runner', 'check_checkpoint_path',
           'load_config', 'setup_config', 'work_dir_for']
