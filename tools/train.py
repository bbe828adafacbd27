"""Train a classifier, detector or segmentor: the config's default_scope decides which.

    python tools/train.py CONFIG [--work-dir DIR] [--amp] [--auto-scale-lr] [--resume [CKPT]]
        [--cfg-options key=value ...] [--launcher none|pytorch|slurm|mpi] [--device cpu]

Runs on the GPU. ``--device cpu`` runs on the CPU and adapts what needs a GPU (SyncBN -> BN,
AMP -> fp32, nccl -> gloo); without it, a config that needs a GPU fails at once where CUDA is
not available, naming what needs it.
"""
import argparse


def parse_args(argv=None):
    from rmt_mm.apis import add_common_args
    parser = argparse.ArgumentParser(description='Train an rmt_mm model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by the actual batch size (auto_scale_lr)')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT, or from the latest checkpoint in the work dir '
                        'when no path is given')
    return add_common_args(parser).parse_args(argv)


def main():
    args = parse_args()
    from rmt_mm.apis import (
        build_runner,
        check_checkpoint_path,
        close_process_group,
        setup_config,
    )
    from rmt_mm.utils.fileio import latest_intact_checkpoint

    cfg = setup_config(args)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise ValueError(f'{args.config} has no auto_scale_lr.base_batch_size, so '
                             f'--auto-scale-lr cannot scale the learning rate')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        # The newest intact checkpoint of the work dir (None: start from scratch, as mmengine).
        cfg.resume, cfg.load_from = True, latest_intact_checkpoint(cfg.work_dir)
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    check_checkpoint_path(cfg.get('load_from'), '--resume' if args.resume else 'load_from')
    build_runner(cfg, device=args.device).train()
    close_process_group()


if __name__ == '__main__':
    main()
