"""Loading a config and building what it describes: the runner (checked first,
:mod:`.checks`, and prepared for the device, :mod:`.device`) and the model."""
import os.path as osp

from mmengine.config import Config

from rmt_mm.utils.tasks import TASKS

from .checks import (
    check_checkpoint_path,
    check_class_order,
    check_data_paths,
    check_model_channels,
    check_num_classes,
    evaluators_follow_datasets,
)
from .device import prepare_device
from .dist import init_cpu_process_group

SCOPES = tuple(TASKS)  # the libraries a config's default_scope may name


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


__all__ = ['build_model', 'build_runner', 'load_config', 'work_dir_for']
