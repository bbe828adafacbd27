"""Device policy of the tools: run where the user chose, adapting a GPU config to the CPU when
asked (never silently), and say what in a config needs a GPU."""
import os

import torch
from mmengine.config import Config
from mmengine.logging import print_log


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


DEVICES = ('cuda', 'cpu')  # after --device parsing (cli.DeviceAction): cuda:N is 'cuda'


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
