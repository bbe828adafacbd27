"""Evaluate a checkpoint of a classifier, detector or segmentor (the config's default_scope
decides which).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--show-dir DIR]
        [--cfg-options key=value ...] [--launcher none|pytorch|slurm|mpi] [--tta]
"""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction


def parse_args():
    parser = argparse.ArgumentParser(description='Test an rmt_mm model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument('--show-dir', help='save pictures of the predictions in this folder '
                        '(inside the work dir when relative)')
    parser.add_argument('--tta', action='store_true',
                        help='test-time augmentation (the config\'s tta_model/tta_pipeline)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. test_dataloader.batch_size=4')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def enable_visualization(cfg, show_dir):
    """Turn on the task's visualization hook so that predictions are drawn into show_dir."""
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise ValueError(f'--show-dir needs default_hooks.visualization in the config')
    scope = cfg.default_scope
    if scope == 'mmpretrain':
        hook.update(enable=True, out_dir=show_dir)
    elif scope == 'mmdet':
        hook.update(draw=True, test_out_dir=show_dir)
    else:  # mmseg draws into the visualizer's save_dir
        hook.update(draw=True, interval=1)
        cfg.visualizer['save_dir'] = show_dir


def main():
    args = parse_args()
    import rmt_mm  # noqa: F401
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    from rmt_mm.utils.config import (adapt_to_device, check_checkpoint_path, load_config,
                                     work_dir_for)

    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = work_dir_for(cfg, args.config, args.work_dir)
    check_checkpoint_path(args.checkpoint, 'checkpoint')
    cfg.load_from = args.checkpoint
    if args.show_dir:
        enable_visualization(cfg, args.show_dir)
    if args.tta:
        if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
            raise ValueError(f'{args.config} defines no tta_model/tta_pipeline for --tta')
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    adapt_to_device(cfg)

    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    metrics = runner.test()
    print(f'metrics of {osp.basename(args.checkpoint)}: {metrics}')


if __name__ == '__main__':
    main()
