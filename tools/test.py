"""Evaluate a checkpoint of a classifier, detector or segmentor (the config's default_scope
decides which).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--show-dir DIR] [--tta]
        [--cfg-options key=value ...] [--launcher none|pytorch|slurm|mpi] [--device cpu]
"""
import argparse
import os.path as osp


def parse_args(argv=None):
    from rmt_mm.apis import add_common_args
    parser = argparse.ArgumentParser(description='Test an rmt_mm model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--show-dir', help='save pictures of the predictions in this folder '
                        '(relative to the work dir)')
    parser.add_argument('--tta', action='store_true',
                        help="test-time augmentation (the config's tta_model and tta_pipeline)")
    return add_common_args(parser).parse_args(argv)


def enable_visualization(cfg, show_dir):
    """Turn on the task's visualization hook so that predictions are drawn into show_dir
    (relative: inside the work dir, for every task)."""
    from rmt_mm.utils.tasks import get_task
    if cfg.default_hooks.get('visualization') is None:
        raise ValueError('--show-dir needs default_hooks.visualization in the config')
    # Absolute, so that each library's own base (mmdet: the run's log dir, mmseg and
    # mmpretrain: the current directory) leaves it as it is.
    get_task(cfg).draw_test_outputs(cfg, osp.abspath(osp.join(cfg.work_dir, show_dir)))


def main():
    args = parse_args()
    from rmt_mm.apis import (
        build_runner,
        check_checkpoint_path,
        close_process_group,
        setup_config,
    )

    cfg = setup_config(args)
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
    metrics = build_runner(cfg, mode='test', device=args.device).test()
    close_process_group()
    print(f'metrics of {osp.basename(args.checkpoint)}: {metrics}')


if __name__ == '__main__':
    main()
