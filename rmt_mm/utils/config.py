"""Config preparation shared by tools/train.py and tools/test.py for all three tasks."""
import os.path as osp

import torch
from mmengine.config import Config, ConfigDict
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
    - NCCL needs GPUs: distributed runs use gloo.
    """
    if torch.cuda.is_available():
        return cfg
    changed = []
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


__all__ = ['adapt_to_device', 'check_checkpoint_path', 'load_config', 'work_dir_for',
           'ConfigDict']
